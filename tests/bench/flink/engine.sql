-- bench-engine's query in Flink SQL: a 1-minute tumbling count and sum
-- per user over fs-gen's click events (${IN}, NDJSON).
CREATE TABLE clicks (
  ts BIGINT,
  `user` STRING,
  event STRING,
  item STRING,
  amount BIGINT,
  rt AS TO_TIMESTAMP_LTZ(ts, 3),
  WATERMARK FOR rt AS rt - INTERVAL '0.001' SECOND
) WITH (
  'connector' = 'filesystem',
  'path' = '${IN}',
  'format' = 'json'
);

SELECT window_start, `user`, COUNT(*) AS n, SUM(amount) AS total
FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(rt), INTERVAL '1' MINUTE))
GROUP BY window_start, window_end, `user`;
