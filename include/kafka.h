/* Kafka side of the relay: the idempotent producer, producing a batch, collecting its delivery reports, and
 * the classification of errors. Returns results to the relay, which decides what is fatal. Broker state
 * changes that librdkafka reports asynchronously (connection lost, all brokers down) are logged here, since
 * there is no caller to hand them to. */
#ifndef OUTBOXD_KAFKA_H
#define OUTBOXD_KAFKA_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdint.h>

#include "batch.h"
#include "config.h"

enum kafka_err_class {
	KAFKA_ERR_TRANSIENT, /* may succeed later: the row stays unsent */
	KAFKA_ERR_PERMANENT, /* this message can never be delivered as it is: the row is marked failed */
	KAFKA_ERR_FATAL,     /* the producer instance is unusable: recreate it */
};

enum kafka_err_class kafka_classify(rd_kafka_resp_err_t err);

struct kafka;

/* Validates the producer configuration (outboxd's defaults plus kafka.properties) by building it and creating a
 * producer that is destroyed at once. Returns 0, or -1 with "FILE:LINE: kafka.properties: why" in errbuf. */
int kafka_check_config(const struct config *cfg, char *errbuf, size_t errsize);

/* A new producer for cfg (which must outlive it). Caller frees with kafka_free. NULL with errbuf set on error. */
/* The producer's message.max.bytes: no row larger than this can be a message. */
int kafka_max_message_bytes(struct kafka *k);

struct kafka *kafka_new(const struct config *cfg, char *errbuf, size_t errsize);

/* Waits up to timeout_ms for what is queued to leave, then destroys the producer. */
void kafka_free(struct kafka *k, int timeout_ms);

/* Produces every PENDING row of b in order. What Kafka says of each row, at once or in its delivery report, is
 * reported to the batch (batch_row_report), which moves the row on. A full local queue is waited out until deadline_ms
 * (CLOCK_MONOTONIC milliseconds); after that the remaining rows are left unproduced (PENDING). Returns how many
 * rows were handed to librdkafka. Payloads up to message.copy.max.bytes are not copied: b's rows must stay valid
 * until every report is in (kafka_serve, kafka_abandon_batch) or the producer is freed. */
int kafka_produce_batch(struct kafka *k, struct batch *b, int64_t deadline_ms);

/* Produces row i of b again, alone, for a row the broker refused in a request that another row may have made too
 * large; its report is collected like a batch's (kafka_serve, kafka_abandon_batch). Returns as
 * kafka_produce_batch's per-row step: 1 handed to librdkafka, 0 refused at once (state says why), -1 not produced
 * (deadline passed or the producer is unusable). */
int kafka_produce_alone(struct kafka *k, struct batch *b, int i, int64_t deadline_ms);

/* The dead-letter topic: the copy of each ROW_DEAD_LETTER row (batch_begin_dead_letters) goes there, with its
 * key, payload and headers and the two headers below; the delivery reports then say whether it arrived. Returns
 * how many were handed to librdkafka. */
#define KAFKA_DEAD_LETTER_ERROR_HEADER "outboxd-error"
#define KAFKA_DEAD_LETTER_TOPIC_HEADER "outboxd-topic"
int kafka_produce_dead_letters(struct kafka *k, struct batch *b, int64_t deadline_ms);

/* Sends what is queued without waiting for linger.ms and serves delivery reports for up to timeout_ms. */
void kafka_serve(struct kafka *k, int timeout_ms);

/* Gives up on b's outstanding messages: purges them from the queues (their reports come back as transient
 * failures) and waits up to timeout_ms for those reports. Returns 0, or -1 if some never came back: the producer
 * must then be recreated before the next batch. */
int kafka_abandon_batch(struct kafka *k, struct batch *b, int timeout_ms);

/* 0 once librdkafka reported all brokers down (until a message is acknowledged again) or a fatal error. */
int kafka_reachable(const struct kafka *k);

/* 1 once the producer raised a fatal error (why filled); it must be recreated. */
int kafka_is_fatal(const struct kafka *k, char *why, size_t whysize);

#endif
