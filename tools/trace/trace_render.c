// SPDX-License-Identifier: GPL-2.0
/*
 * Rendering a merged trace.
 *
 * Text: one line per event in the total order, key=value fields, then one
 * "concurrent A B" line per pair of concurrent sends of different nodes
 * (positions in the order), so scripts can check a history with awk.
 *
 * Chrome Trace Event JSON: one process per node, one 1 us slice per event,
 * a flow ("s"/"f") from each send to each receive of its stamp.  Times are
 * the events' CLOCK_REALTIME relative to the first event when every event
 * has one, else the position in the total order.
 *
 * SVG: one vertical lane per node, time (the total order) going down, an
 * arrow per matched message.  No scripts, no external references.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "trace_render.h"

static void flags_str(uint8_t f, char *buf)
{
	static const struct { uint8_t bit; char c; } names[] = {
		{ 0x02, 'S' }, { 0x10, 'A' }, { 0x08, 'P' }, { 0x01, 'F' },
		{ 0x04, 'R' },
	};
	size_t i, n = 0;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (f & names[i].bit)
			buf[n++] = names[i].c;
	if (!n)
		buf[n++] = '.';
	buf[n] = '\0';
}

static void vc_str(const struct trace_merge *m, size_t e, char *buf, size_t len)
{
	size_t k, off = 0;

	buf[0] = '\0';
	for (k = 0; k < m->nnodes && off < len; k++)
		off += (size_t)snprintf(buf + off, len - off, "%s%" PRIu32,
					k ? "," : "", m->vc[e * m->nnodes + k]);
}

static int finish(FILE *out)
{
	if (fflush(out) || ferror(out))
		return -EIO;
	return 0;
}

int trace_render__text(const struct trace_merge *m, FILE *out)
{
	size_t i, j, shown = 0, pairs = 0;
	char vc[TRACE_MAX_NODES * 11], fl[8];

	fprintf(out, "# gnomon-trace merge: %zu events from %zu nodes; %zu receives matched, %zu unmatched (%zu mismatched)\n",
		m->n, m->nnodes, m->matched, m->unmatched, m->mismatched);
	for (i = 0; i < m->nnodes; i++)
		fprintf(out, "# node %u: %s\n", m->nodes[i],
			m->names[i][0] ? m->names[i] : "?");
	for (i = 0; i < m->n; i++) {
		size_t e = m->order[i];
		const struct trace_event *ev = &m->ev[e];

		vc_str(m, e, vc, sizeof(vc));
		flags_str(ev->tcp_flags, fl);
		fprintf(out, "pos=%zu node=%u %s L=%" PRIu64 " %s:%u%s%s:%u seq=%" PRIu32 " len=%" PRIu32 " flags=%s vc=%s",
			i + 1, ev->node, trace_dir__name(ev->dir), ev->lamport,
			ev->local, ev->local_port,
			ev->dir == TRACE_SEND ? ">" : "<",
			ev->peer, ev->peer_port, ev->seq, ev->end_seq - ev->seq,
			fl, vc);
		if (ev->dir == TRACE_RECV) {
			if (m->send_of[e] >= 0)
				fprintf(out, " from=%zu", m->rank[m->send_of[e]] + 1);
			else
				fprintf(out, " from=? stamp=%u:%" PRIu64,
					ev->remote_node, ev->remote);
		}
		fputc('\n', out);
	}
	for (i = 0; i < m->n; i++) {
		size_t a = m->order[i];

		if (m->ev[a].dir != TRACE_SEND)
			continue;
		for (j = i + 1; j < m->n; j++) {
			size_t b = m->order[j];

			if (m->ev[b].dir != TRACE_SEND ||
			    m->ev[b].node == m->ev[a].node ||
			    !trace_merge__concurrent(m, a, b))
				continue;
			pairs++;
			if (shown < TRACE_MAX_CONCURRENT_SHOWN) {
				fprintf(out, "concurrent %zu %zu\n", i + 1, j + 1);
				shown++;
			}
		}
	}
	fprintf(out, "# %zu pairs of concurrent sends (%zu shown)\n", pairs, shown);
	return finish(out);
}

static uint64_t first_realtime(const struct trace_merge *m, int *all)
{
	uint64_t first = UINT64_MAX;
	size_t i;

	*all = m->n > 0;
	for (i = 0; i < m->n; i++) {
		if (!m->ev[i].realtime_ns)
			*all = 0;
		else if (m->ev[i].realtime_ns < first)
			first = m->ev[i].realtime_ns;
	}
	return first;
}

static double event_ts(const struct trace_merge *m, size_t e, int real,
		       uint64_t first)
{
	if (real)
		return (double)(m->ev[e].realtime_ns - first) / 1000.0;
	return (double)m->rank[e];
}

int trace_render__chrome(const struct trace_merge *m, FILE *out)
{
	uint64_t first;
	size_t i;
	int real;
	char vc[TRACE_MAX_NODES * 11];

	first = first_realtime(m, &real);
	fprintf(out, "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n");
	for (i = 0; i < m->nnodes; i++)
		fprintf(out, "{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":%u,\"tid\":1,\"args\":{\"name\":\"%s (node %u)\"}},\n",
			m->nodes[i], m->names[i][0] ? m->names[i] : "?",
			m->nodes[i]);
	for (i = 0; i < m->n; i++) {
		size_t e = m->order[i];
		const struct trace_event *ev = &m->ev[e];
		double ts = event_ts(m, e, real, first);

		vc_str(m, e, vc, sizeof(vc));
		fprintf(out, "{\"ph\":\"X\",\"name\":\"%s L=%" PRIu64 "\",\"cat\":\"tcp\",\"pid\":%u,\"tid\":1,\"ts\":%.3f,\"dur\":1,"
			"\"args\":{\"pos\":%zu,\"dir\":\"%s\",\"lamport\":%" PRIu64 ",\"vc\":\"%s\",\"local\":\"%s:%u\",\"peer\":\"%s:%u\",\"seq\":%" PRIu32 ",\"len\":%" PRIu32 ",\"from\":%ld}},\n",
			trace_dir__name(ev->dir), ev->lamport, ev->node, ts,
			i + 1, trace_dir__name(ev->dir), ev->lamport, vc,
			ev->local, ev->local_port, ev->peer, ev->peer_port,
			ev->seq, ev->end_seq - ev->seq,
			m->send_of[e] >= 0 ? (long)m->rank[m->send_of[e]] + 1 : 0L);
		if (m->send_of[e] >= 0) {
			size_t s = (size_t)m->send_of[e];

			fprintf(out, "{\"ph\":\"s\",\"id\":%zu,\"name\":\"message\",\"cat\":\"tcp\",\"pid\":%u,\"tid\":1,\"ts\":%.3f},\n",
				e + 1, m->ev[s].node, event_ts(m, s, real, first));
			fprintf(out, "{\"ph\":\"f\",\"bp\":\"e\",\"id\":%zu,\"name\":\"message\",\"cat\":\"tcp\",\"pid\":%u,\"tid\":1,\"ts\":%.3f},\n",
				e + 1, ev->node, ts);
		}
	}
	/* A closing metadata event keeps every line above comma-terminated. */
	fprintf(out, "{\"ph\":\"M\",\"name\":\"trace_source\",\"pid\":0,\"tid\":0,\"args\":{\"name\":\"gnomon-trace\"}}\n]}\n");
	return finish(out);
}

static void xml_text(FILE *out, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '&': fputs("&amp;", out); break;
		case '"': fputs("&quot;", out); break;
		default: fputc(*s, out); break;
		}
	}
}

#define SVG_LANE	240
#define SVG_LEFT	140
#define SVG_TOP		70
#define SVG_STEP	26

static int lane_x(const struct trace_merge *m, uint16_t node)
{
	return SVG_LEFT + trace_merge__node_index(m, node) * SVG_LANE;
}

int trace_render__svg(const struct trace_merge *m, FILE *out)
{
	int width = SVG_LEFT + (int)m->nnodes * SVG_LANE;
	int height = SVG_TOP + (int)(m->n + 1) * SVG_STEP;
	size_t i;

	fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"monospace\" font-size=\"11\">\n"
		"<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M 0 0 L 10 5 L 0 10 z\" fill=\"#1f5fa8\"/></marker></defs>\n"
		"<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
		"<text x=\"10\" y=\"20\" font-size=\"13\">gnomon-trace: %zu events, %zu messages matched; time goes down (total order)</text>\n",
		width, height, width, height, m->n, m->matched);
	for (i = 0; i < m->nnodes; i++) {
		int x = SVG_LEFT + (int)i * SVG_LANE;

		fprintf(out, "<text x=\"%d\" y=\"50\" text-anchor=\"middle\" font-weight=\"bold\">", x);
		xml_text(out, m->names[i][0] ? m->names[i] : "?");
		fprintf(out, " (node %u)</text>\n<line x1=\"%d\" y1=\"58\" x2=\"%d\" y2=\"%d\" stroke=\"#888\"/>\n",
			m->nodes[i], x, x, height - 10);
	}
	for (i = 0; i < m->n; i++) {
		size_t e = m->order[i];
		const struct trace_event *ev = &m->ev[e];
		int x = lane_x(m, ev->node), y = SVG_TOP + (int)i * SVG_STEP;
		char fl[8];

		flags_str(ev->tcp_flags, fl);
		if (m->send_of[e] >= 0) {
			size_t s = (size_t)m->send_of[e];

			fprintf(out, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#1f5fa8\" marker-end=\"url(#arrow)\"/>\n",
				lane_x(m, m->ev[s].node),
				SVG_TOP + (int)m->rank[s] * SVG_STEP, x, y);
		}
		fprintf(out, "<circle cx=\"%d\" cy=\"%d\" r=\"4\" fill=\"%s\"/>\n",
			x, y, ev->dir == TRACE_SEND ? "#c0392b" : "#27ae60");
		fprintf(out, "<text x=\"%d\" y=\"%d\">%s L=%" PRIu64 " [%s] len=%" PRIu32 "%s</text>\n",
			x + 8, y + 4, trace_dir__name(ev->dir), ev->lamport, fl,
			ev->end_seq - ev->seq,
			ev->dir == TRACE_RECV && m->send_of[e] < 0 ? " (unmatched)" : "");
	}
	fprintf(out, "</svg>\n");
	return finish(out);
}
