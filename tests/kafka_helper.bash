# kafka_helper.bash - what the Kafka suites share: topic creation with a
# partition count (kcat cannot create topics; the broker auto-creates
# with one partition), and waiting for a condition with a bound.
#
# Load after test_helper:  load test_helper; load kafka_helper

KAFKA_TOPIC_TOOL="$FS_ROOT/build/kafka/fs-test-create-topic"

# Builds the small librdkafka admin client used by kafka_create_topic.
_kafka_build_topic_tool() {
	local src="$FS_ROOT/build/kafka/fs-test-create-topic.c"
	[ -x "$KAFKA_TOPIC_TOOL" ] && [ "$KAFKA_TOPIC_TOOL" -nt "${BASH_SOURCE[0]}" ] &&
		return 0
	mkdir -p "$FS_ROOT/build/kafka"
	cat >"$src" <<'EOF'
/* fs-test-create-topic BROKERS TOPIC PARTITIONS: for the test suites. */
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	char err[512];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_t *rk;
	rd_kafka_NewTopic_t *nt;
	rd_kafka_queue_t *q;
	rd_kafka_event_t *ev;
	const rd_kafka_CreateTopics_result_t *res;
	const rd_kafka_topic_result_t **tr;
	size_t n;
	int rc = 0;

	if (argc != 4)
		return 2;
	rd_kafka_conf_set(conf, "bootstrap.servers", argv[1], err, sizeof err);
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
	if (!rk) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	nt = rd_kafka_NewTopic_new(argv[2], (int)strtol(argv[3], NULL, 10), 1,
	    err, sizeof err);
	q = rd_kafka_queue_new(rk);
	rd_kafka_CreateTopics(rk, &nt, 1, NULL, q);
	ev = rd_kafka_queue_poll(q, 30000);
	res = ev ? rd_kafka_event_CreateTopics_result(ev) : NULL;
	if (!res) {
		fprintf(stderr, "create topic: no answer\n");
		rc = 1;
	} else {
		tr = rd_kafka_CreateTopics_result_topics(res, &n);
		if (n != 1 || rd_kafka_topic_result_error(tr[0])) {
			fprintf(stderr, "create topic: %s\n",
			    n ? rd_kafka_topic_result_error_string(tr[0]) : "?");
			rc = 1;
		}
	}
	if (ev)
		rd_kafka_event_destroy(ev);
	rd_kafka_NewTopic_destroy(nt);
	rd_kafka_queue_destroy(q);
	rd_kafka_destroy(rk);
	return rc;
}
EOF
	gcc -O1 -o "$KAFKA_TOPIC_TOOL" "$src" -lrdkafka
}

# kafka_create_topic NAME PARTITIONS
kafka_create_topic() {
	_kafka_build_topic_tool
	"$KAFKA_TOPIC_TOOL" "$FS_KAFKA_BROKERS" "$1" "$2"
}

# wait_for SECONDS COMMAND...: polls COMMAND every 0.2s; fails after the
# bound (a guard against hangs, not a timed assertion).
wait_for() {
	local limit=$(( $1 * 5 )) i=0
	shift
	until "$@"; do
		i=$((i + 1))
		if [ "$i" -ge "$limit" ]; then
			echo "wait_for: gave up on: $*" >&2
			return 1
		fi
		sleep 0.2
	done
}

# lines_are FILE N: FILE has exactly N lines.
lines_are() {
	[ "$(wc -l < "$1")" -eq "$2" ]
}

# Kills (SIGKILL) a background process and reaps it.
kill9() {
	kill -9 "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}
