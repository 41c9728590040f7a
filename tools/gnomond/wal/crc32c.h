/* SPDX-License-Identifier: GPL-2.0 */
/* CRC32C (Castagnoli, reflected polynomial 0x82f63b78), as used by iSCSI,
 * ext4 and btrfs: crc32c(0, "123456789", 9) == 0xe3069283. */
#ifndef GNOMOND_CRC32C_H
#define GNOMOND_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Continue a CRC: start with crc 0. */
uint32_t crc32c(uint32_t crc, const void *data, size_t len);

#endif /* GNOMOND_CRC32C_H */
