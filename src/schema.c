/* Renders sql/ templates. The templates use psql's own variable syntax (:"name" for identifiers, :'name' for
 * literals) so the same files work with `psql -v table=... -f`; here the variables are filled in the same way
 * psql would, and psql meta-command lines are dropped. */
#include "schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct buf {
	char *data;
	size_t len, cap;
};

static int buf_put(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *p;
		while (b->len + n + 1 > cap)
			cap *= 2;
		if ((p = realloc(b->data, cap)) == NULL)
			return -1;
		b->data = p;
		b->cap = cap;
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

char *schema_quote_ident(const char *name)
{
	struct buf b = { 0 };

	if (buf_put(&b, "\"", 1) < 0)
		goto fail;
	for (const char *p = name; *p; p++) {
		if ((*p == '"' && buf_put(&b, "\"", 1) < 0) || buf_put(&b, p, 1) < 0)
			goto fail;
	}
	if (buf_put(&b, "\"", 1) < 0)
		goto fail;
	return b.data;
fail:
	free(b.data);
	return NULL;
}

char *schema_quote_literal(const char *value)
{
	struct buf b = { 0 };

	/* Like PQescapeLiteral: an E'' string when there are backslashes, so the result means the same under any
	 * standard_conforming_strings setting. */
	if (strchr(value, '\\') != NULL && buf_put(&b, " E", 2) < 0)
		goto fail;
	if (buf_put(&b, "'", 1) < 0)
		goto fail;
	for (const char *p = value; *p; p++) {
		if ((*p == '\'' || *p == '\\') && buf_put(&b, p, 1) < 0)
			goto fail;
		if (buf_put(&b, p, 1) < 0)
			goto fail;
	}
	if (buf_put(&b, "'", 1) < 0)
		goto fail;
	return b.data;
fail:
	free(b.data);
	return NULL;
}

int schema_latest_version(void)
{
	return schema_n_files ? schema_files[schema_n_files - 1].version : 0;
}

struct var {
	char name[64];
	char value[256];
};

#define MAX_VARS 48

/* schema, table, then the extra variables of the file being rendered (role, the Debezium settings). The names
 * the templates derive from these come from their own \set lines (set_var). */
static int make_vars(struct var *v, const char *schema, const char *table, const char *const *extra, int n_extra)
{
	int n = 0;

	snprintf(v[n].name, sizeof(v[0].name), "schema");
	snprintf(v[n++].value, sizeof(v[0].value), "%s", schema);
	snprintf(v[n].name, sizeof(v[0].name), "table");
	snprintf(v[n++].value, sizeof(v[0].value), "%s", table);
	for (int i = 0; i + 1 < 2 * n_extra && n < MAX_VARS; i += 2) {
		snprintf(v[n].name, sizeof(v[0].name), "%s", extra[i]);
		snprintf(v[n++].value, sizeof(v[0].value), "%s", extra[i + 1]);
	}
	return n;
}

static const struct var *find_var(const struct var *v, int n, const char *name, size_t len)
{
	for (int i = 0; i < n; i++) {
		if (strlen(v[i].name) == len && strncmp(v[i].name, name, len) == 0)
			return &v[i];
	}
	return NULL;
}

/* One line: substitute :"var" and :'var'. */
static int render_line(struct buf *out, const char *line, size_t len, const struct var *vars, int nvars,
		       const char *file, int lineno, char *errbuf, size_t errsize)
{
	size_t i = 0;

	while (i < len) {
		const char *end;
		const struct var *v;
		char *q;
		int rc;

		if (line[i] != ':' || i + 1 >= len || (line[i + 1] != '"' && line[i + 1] != '\'')) {
			size_t j = i + 1;
			if (line[i] == ':' && j < len && line[j] == ':')
				j++; /* a :: cast */
			if (buf_put(out, line + i, j - i) < 0)
				goto oom;
			i = j;
			continue;
		}
		end = memchr(line + i + 2, line[i + 1], len - i - 2);
		if (end == NULL || (v = find_var(vars, nvars, line + i + 2, (size_t)(end - line - i - 2))) == NULL) {
			snprintf(errbuf, errsize, "%s:%d: unknown psql variable", file, lineno);
			return -1;
		}
		q = line[i + 1] == '"' ? schema_quote_ident(v->value) : schema_quote_literal(v->value);
		if (q == NULL)
			goto oom;
		rc = buf_put(out, q, strlen(q));
		free(q);
		if (rc < 0)
			goto oom;
		i = (size_t)(end - line) + 1;
	}
	return buf_put(out, "\n", 1) < 0 ? (snprintf(errbuf, errsize, "out of memory"), -1) : 0;
oom:
	snprintf(errbuf, errsize, "out of memory");
	return -1;
}

/* psql's "\set NAME VALUE...", the values :var or 'literal' and joined, as the templates use it. A name already
 * set (by the caller, or by an earlier file) keeps its value, which is what the files' \if :{?name} defaults do
 * in psql. */
static int set_var(struct var *v, int *n, const char *line, size_t len, const char *file, int lineno, char *errbuf,
		   size_t errsize)
{
	const char *p = line + strlen("\\set "), *end = line + len, *name = p;
	char value[sizeof(v[0].value)];
	size_t nlen, vlen = 0;

	while (p < end && *p != ' ')
		p++;
	nlen = (size_t)(p - name);
	if (find_var(v, *n, name, nlen) != NULL)
		return 0;
	if (nlen == 0 || nlen >= sizeof(v[0].name) || *n >= MAX_VARS)
		goto bad;
	while (p < end) {
		const char *t, *te;
		const struct var *r;
		if (*p == ' ') {
			p++;
			continue;
		}
		if (*p == '\'') {
			t = p + 1;
			if ((te = memchr(t, '\'', (size_t)(end - t))) == NULL)
				goto bad;
			p = te + 1;
		} else if (*p == ':') {
			for (te = p + 1; te < end && *te != ' '; te++)
				;
			if ((r = find_var(v, *n, p + 1, (size_t)(te - p - 1))) == NULL)
				goto bad;
			p = te;
			t = r->value;
			te = t + strlen(t);
		} else {
			goto bad;
		}
		if (vlen + (size_t)(te - t) >= sizeof(value))
			goto bad;
		memcpy(value + vlen, t, (size_t)(te - t));
		vlen += (size_t)(te - t);
	}
	memcpy(v[*n].name, name, nlen);
	v[*n].name[nlen] = '\0';
	memcpy(v[*n].value, value, vlen);
	v[*n].value[vlen] = '\0';
	(*n)++;
	return 0;
bad:
	snprintf(errbuf, errsize, "%s:%d: a \\set line this renderer cannot read", file, lineno);
	return -1;
}

/* Other psql meta-commands (\if, \else, \endif) are dropped. */
static int render_file(struct buf *out, const struct schema_file *f, struct var *vars, int *nvars, char *errbuf,
		       size_t errsize)
{
	const char *p = f->text;
	int lineno = 0, rc = 0;

	while (*p && rc == 0) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		lineno++;
		if (len > strlen("\\set ") && strncmp(p, "\\set ", strlen("\\set ")) == 0)
			rc = set_var(vars, nvars, p, len, f->name, lineno, errbuf, errsize);
		else if (*p != '\\')
			rc = render_line(out, p, len, vars, *nvars, f->name, lineno, errbuf, errsize);
		p += len + (nl != NULL);
	}
	return rc;
}

/* PostgreSQL truncates names at 63 bytes: refuse rather than act on another object. */
static int names_ok(const char *schema, const char *table, const char *role, char *errbuf, size_t errsize)
{
	if (strlen(table) > 63 || strlen(schema) > 63 || (role != NULL && strlen(role) > 63)) {
		snprintf(errbuf, errsize, "schema, table and role names are limited to 63 bytes");
		return 0;
	}
	if (*table == '\0' || *schema == '\0' || (role != NULL && *role == '\0')) {
		snprintf(errbuf, errsize, "schema, table and role names must not be empty");
		return 0;
	}
	return 1;
}

/* Renders the files with from_version < version, or only the file named only, with extra variables given as
 * name, value pairs. */
static char *render(const char *schema, const char *table, const char *const *extra, int n_extra, int from_version,
		    const char *only, char *errbuf, size_t errsize)
{
	struct var vars[MAX_VARS];
	int nvars;
	struct buf out = { 0 };

	if (!names_ok(schema, table, NULL, errbuf, errsize))
		return NULL;
	for (int i = 0; i < n_extra; i++) {
		if (strlen(extra[2 * i + 1]) >= sizeof(vars[0].value)) {
			snprintf(errbuf, errsize, "%s: longer than %zu bytes", extra[2 * i], sizeof(vars[0].value) - 1);
			return NULL;
		}
	}
	nvars = make_vars(vars, schema, table, extra, n_extra);
	if (buf_put(&out, "", 0) < 0) {
		snprintf(errbuf, errsize, "out of memory");
		return NULL;
	}
	for (int i = 0; i < schema_n_files; i++) {
		const struct schema_file *f = &schema_files[i];
		if (only != NULL ? strcmp(f->name, only) != 0 : f->version <= from_version)
			continue;
		if (render_file(&out, f, vars, &nvars, errbuf, errsize) < 0) {
			free(out.data);
			return NULL;
		}
	}
	return out.data;
}

char *schema_render(const char *schema, const char *table, int from_version, char *errbuf, size_t errsize)
{
	return render(schema, table, NULL, 0, from_version, NULL, errbuf, errsize);
}

char *schema_render_grant(const char *schema, const char *table, const char *role, char *errbuf, size_t errsize)
{
	const char *extra[2] = { "role", role };

	if (!names_ok(schema, table, role, errbuf, errsize))
		return NULL;
	return render(schema, table, extra, 1, 0, SCHEMA_GRANT_FILE, errbuf, errsize);
}

char *schema_render_partition(const char *schema, const char *table, const char *rows, char *errbuf,
			      size_t errsize)
{
	const char *extra[2] = { "part_rows", rows };
	char *parts[3] = { NULL, NULL, NULL }, *out = NULL;

	if ((parts[0] = render(schema, table, NULL, 0, 0, NULL, errbuf, errsize)) == NULL ||
	    (parts[1] = render(schema, table, extra, rows != NULL, 0, SCHEMA_PARTITION_FILE, errbuf, errsize)) == NULL ||
	    (parts[2] = render(schema, table, NULL, 0, 0, NULL, errbuf, errsize)) == NULL)
		goto done;
	if ((out = malloc(strlen(parts[0]) + strlen(parts[1]) + strlen(parts[2]) + 1)) == NULL) {
		snprintf(errbuf, errsize, "out of memory");
		goto done;
	}
	sprintf(out, "%s%s%s", parts[0], parts[1], parts[2]);
done:
	for (int i = 0; i < 3; i++)
		free(parts[i]);
	return out;
}

char *schema_render_debezium(const char *schema, const char *table, const char *const *settings, int n,
			     char *errbuf, size_t errsize)
{
	return render(schema, table, settings, n, 0, SCHEMA_DEBEZIUM_FILE, errbuf, errsize);
}
