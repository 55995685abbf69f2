/* Fuzz target: the configuration parser (libconfig syntax plus outboxd's validation), from raw file bytes. */
#include <stddef.h>
#include <stdint.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config *cfg = NULL;
	char err[1024];

	if (config_parse("fuzz.conf", (const char *)data, size, &cfg, err, sizeof(err)) == 0) {
		FILE *devnull = fopen("/dev/null", "w");
		if (devnull != NULL) {
			config_print(cfg, devnull); /* the redacting printer walks every value too */
			fclose(devnull);
		}
		config_free(cfg);
	}
	return 0;
}
