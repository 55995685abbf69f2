/* Runs a fuzz target over files, without libFuzzer: how the checked-in corpora and the regression inputs run
 * under gcc (and ASan+UBSan, and valgrind) in `make check`. Usage: fuzz_X [FILE|DIR...]; with no arguments, the
 * target's seed corpus and regression inputs under tests/fuzz/ (run from the source tree). */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long len;

	if (f == NULL || fseek(f, 0, SEEK_END) < 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0 ||
	    (buf = malloc((size_t)len + 1)) == NULL || fread(buf, 1, (size_t)len, f) != (size_t)len) {
		fprintf(stderr, "replay: cannot read %s\n", path);
		free(buf);
		if (f != NULL)
			fclose(f);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, (size_t)len);
	free(buf);
	return 1;
}

static int run_path(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *e;
	int n = 0, r;

	if (stat(path, &st) < 0) {
		fprintf(stderr, "replay: %s: no such file\n", path);
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return run_file(path);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		char p[4096];
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
		if ((r = run_path(p)) < 0) {
			closedir(d);
			return -1;
		}
		n += r;
	}
	closedir(d);
	return n;
}

int main(int argc, char **argv)
{
	static const char *const defaults[] = { "tests/fuzz/corpus/" FUZZ_NAME, "tests/fuzz/regress/" FUZZ_NAME };
	int total = 0, n;

	for (int i = 1; i < argc; i++) {
		if ((n = run_path(argv[i])) < 0)
			return 1;
		total += n;
	}
	for (size_t i = 0; argc == 1 && i < sizeof(defaults) / sizeof(defaults[0]); i++) {
		struct stat st;
		if (stat(defaults[i], &st) < 0)
			continue; /* no regression inputs yet */
		if ((n = run_path(defaults[i])) < 0)
			return 1;
		total += n;
	}
	printf("replay: %s: %d inputs\n", argv[0], total);
	return 0;
}
