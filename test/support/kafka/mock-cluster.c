/*
 * A Kafka cluster for the tests: librdkafka's mock cluster (a real Kafka protocol peer, in memory) in a process of
 * its own, driven by lines on stdin. Built by test/support/kafka/broker.ts with `cc ... -lrdkafka`.
 *
 * stdout: `bootstraps <host:port,...>` once listening, then `ok <command>` (or `error <command>: <why>`) per command.
 * stdin, one command a line:
 *   topic <name> <partitions>            create a topic (the mock has no CreateTopics admin request)
 *   down | up                            every broker refuses connections and drops its own / accepts them again
 *   errors <api key> <error code>...     the next requests of that API key fail with these codes, one each
 *   quit (or end of input)               destroy the cluster and exit
 */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void reply(const char *status, const char *command, const char *detail) {
  if (detail) printf("%s %s: %s\n", status, command, detail);
  else printf("%s %s\n", status, command);
  fflush(stdout);
}

int main(int argc, char **argv) {
  int brokers = argc > 1 ? atoi(argv[1]) : 1;
  char errstr[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  /* The mock needs a client handle for its own bookkeeping; this one never produces. */
  if (rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
    fprintf(stderr, "%s\n", errstr);
    return 1;
  }
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (!rk) {
    fprintf(stderr, "rd_kafka_new: %s\n", errstr);
    return 1;
  }
  rd_kafka_mock_cluster_t *cluster = rd_kafka_mock_cluster_new(rk, brokers < 1 ? 1 : brokers);
  if (!cluster) {
    fprintf(stderr, "rd_kafka_mock_cluster_new failed\n");
    return 1;
  }
  printf("bootstraps %s\n", rd_kafka_mock_cluster_bootstraps(cluster));
  fflush(stdout);

  char line[4096];
  while (fgets(line, sizeof line, stdin)) {
    line[strcspn(line, "\r\n")] = 0;
    char *command = strtok(line, " ");
    if (!command) continue;
    if (!strcmp(command, "quit")) break;
    if (!strcmp(command, "topic")) {
      char *name = strtok(NULL, " ");
      char *count = strtok(NULL, " ");
      if (!name || !count) { reply("error", command, "usage: topic <name> <partitions>"); continue; }
      rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(cluster, name, atoi(count), 1);
      if (err) reply("error", command, rd_kafka_err2str(err));
      else reply("ok", command, NULL);
    } else if (!strcmp(command, "down") || !strcmp(command, "up")) {
      rd_kafka_resp_err_t err = !strcmp(command, "down") ? rd_kafka_mock_broker_set_down(cluster, -1)
                                                         : rd_kafka_mock_broker_set_up(cluster, -1);
      if (err) reply("error", command, rd_kafka_err2str(err));
      else reply("ok", command, NULL);
    } else if (!strcmp(command, "errors")) {
      char *key = strtok(NULL, " ");
      rd_kafka_resp_err_t codes[64];
      size_t n = 0;
      for (char *code; n < 64 && (code = strtok(NULL, " ")); n++) codes[n] = (rd_kafka_resp_err_t)atoi(code);
      if (!key || n == 0) { reply("error", command, "usage: errors <api key> <code>..."); continue; }
      rd_kafka_mock_push_request_errors_array(cluster, (int16_t)atoi(key), n, codes);
      reply("ok", command, NULL);
    } else {
      reply("error", command, "unknown command");
    }
  }
  rd_kafka_mock_cluster_destroy(cluster);
  rd_kafka_destroy(rk);
  return 0;
}
