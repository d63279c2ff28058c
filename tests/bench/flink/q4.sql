-- Nexmark q4: average closing price per category (updating: --final).
-- Nexmark averages the BIGINT prices as a BIGINT (truncated); fs-agg's
-- avg is a float, so the price is cast to DOUBLE here.
SELECT Q.category, AVG(CAST(Q.final AS DOUBLE)) AS `avg`
FROM (
  SELECT MAX(B.price) AS final, A.category
  FROM auction A, bid B
  WHERE A.id = B.auction AND B.dateTime BETWEEN A.dateTime AND A.expires
  GROUP BY A.id, A.category
) Q
GROUP BY Q.category;
