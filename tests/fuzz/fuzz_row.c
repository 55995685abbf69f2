/* Fuzz target: decoding a claimed row from the server's binary result, then building its Kafka headers, as the
 * relay does. The input is eleven fields, each a 1-byte tag (0: NULL) and a 2-byte length, then the bytes. */
#include <libpq-fe.h>
#include <stdint.h>
#include <string.h>

#include "batch.h"
#include "message.h"
#include "pg_claim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NCOLS 11

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	PGresAttDesc attrs[NCOLS];
	PGresult *res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
	struct outbox_row row = { 0 };
	char why[256];
	size_t o = 0;

	if (res == NULL)
		return 0;
	memset(attrs, 0, sizeof(attrs));
	for (int c = 0; c < NCOLS; c++)
		attrs[c].name = "c", attrs[c].format = 1, attrs[c].typlen = -1;
	if (!PQsetResultAttrs(res, NCOLS, attrs))
		goto done;
	for (int c = 0; c < NCOLS && o + 3 <= size; c++) {
		int isnull = data[o] == 0;
		size_t len = (size_t)data[o + 1] << 8 | data[o + 2];
		o += 3;
		if (len > size - o)
			len = size - o;
		if (!PQsetvalue(res, 0, c, isnull ? NULL : (char *)(uintptr_t)(data + o), isnull ? -1 : (int)len))
			goto done;
		o += len;
	}
	if (PQntuples(res) == 1 && pg_row_decode(res, 0, &row, why, sizeof(why)) == 0 && row.headers != NULL) {
		rd_kafka_headers_t *h = message_headers_build(row.headers, row.headers_len, "id", row.event_id, why,
							      sizeof(why));
		if (h != NULL)
			rd_kafka_headers_destroy(h);
	}
done:
	PQclear(res);
	return 0;
}
