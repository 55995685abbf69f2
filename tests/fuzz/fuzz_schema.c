/* Fuzz target: rendering sql/ for any schema, table and role name (quoting must hold for every byte string).
 * Input: three NUL-separated names. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "schema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 3);
	const char *name[3];
	char err[256], *sql;
	size_t o = 0;

	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = buf[size + 1] = buf[size + 2] = '\0';
	for (int i = 0; i < 3; i++) {
		name[i] = buf + o;
		o += strlen(buf + o) + 1;
		if (o > size + 2)
			o = size + 2;
	}
	if ((sql = schema_render(name[0], name[1], 0, err, sizeof(err))) != NULL)
		free(sql);
	if ((sql = schema_render_grant(name[0], name[1], name[2], err, sizeof(err))) != NULL)
		free(sql);
	free(buf);
	return 0;
}
