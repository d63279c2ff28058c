-- Nexmark's tables over fs-gen --model nexmark events (${IN}, NDJSON):
-- Nexmark's own DDL (one table of events with a person, an auction or a
-- bid, and a view of each), with the times as fs-gen writes them, epoch
-- milliseconds, made TIMESTAMP_LTZ(3) here.  dateTime is the event time,
-- with Nexmark's watermark, 4 seconds behind.
CREATE TABLE events (
  event_type INT,
  ts BIGINT,
  person ROW<id BIGINT, name STRING, emailAddress STRING,
    creditCard STRING, city STRING, state STRING, dateTime BIGINT,
    extra STRING>,
  auction ROW<id BIGINT, itemName STRING, description STRING,
    initialBid BIGINT, reserve BIGINT, dateTime BIGINT, expires BIGINT,
    seller BIGINT, category BIGINT, extra STRING>,
  bid ROW<auction BIGINT, bidder BIGINT, price BIGINT, channel STRING,
    url STRING, dateTime BIGINT, extra STRING>,
  dateTime AS TO_TIMESTAMP_LTZ(CASE
    WHEN event_type = 0 THEN person.dateTime
    WHEN event_type = 1 THEN auction.dateTime
    ELSE bid.dateTime END, 3),
  WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND
) WITH (
  'connector' = 'filesystem',
  'path' = '${IN}',
  'format' = 'json'
);

CREATE VIEW person AS
SELECT person.id, person.name, person.emailAddress, person.creditCard,
  person.city, person.state, dateTime, person.extra
FROM events WHERE event_type = 0;

CREATE VIEW auction AS
SELECT auction.id, auction.itemName, auction.description,
  auction.initialBid, auction.reserve, dateTime,
  TO_TIMESTAMP_LTZ(auction.expires, 3) AS expires, auction.seller,
  auction.category, auction.extra
FROM events WHERE event_type = 1;

CREATE VIEW bid AS
SELECT bid.auction, bid.bidder, bid.price, bid.channel, bid.url,
  dateTime, bid.extra
FROM events WHERE event_type = 2;
