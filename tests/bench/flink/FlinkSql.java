/*
 * FlinkSql - the Flink peer of scripts/bench-flink: runs a Flink SQL
 * script in a local mini-cluster (streaming mode) and writes the rows of
 * its last statement, a query, as NDJSON.
 *
 * usage: java -cp CLASSPATH FlinkSql [--parallelism N] [--final]
 *            [--set NAME=VALUE]... OUT SCRIPT...
 *
 * The SCRIPTs are read in turn as one text: statements end with a ';'
 * at the end of a line, lines starting with '--' are comments, and
 * ${NAME} is replaced by the VALUE of a --set.  Every statement but the
 * last is run with executeSql (CREATE TABLE over NDJSON files with the
 * filesystem connector and the json format, CREATE VIEW); the last one is
 * a SELECT whose rows are collected and written to OUT ("-": standard
 * output), one JSON object per row, members named as the query's
 * columns.  TIMESTAMP and TIMESTAMP_LTZ values are written as epoch
 * milliseconds (the session time zone is UTC), as fs writes them.
 *
 * Without --final the query must be insert-only (a window aggregate, a
 * projection): each row is written as it arrives, and a retraction is an
 * error.  With --final the changelog is applied as it arrives (an update
 * before or a delete removes one equal row) and the rows left when the
 * input ends are written: the final table of an updating query (a
 * regular join or group aggregate).
 */
import java.io.BufferedWriter;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.table.api.EnvironmentSettings;
import org.apache.flink.table.api.TableEnvironment;
import org.apache.flink.table.api.TableResult;
import org.apache.flink.types.Row;
import org.apache.flink.types.RowKind;
import org.apache.flink.util.CloseableIterator;

public final class FlinkSql {
	private FlinkSql() {
	}

	private static void usage(String why) {
		System.err.println("FlinkSql: " + why);
		System.err.println("usage: FlinkSql [--parallelism N] [--final] "
		    + "[--set NAME=VALUE]... OUT SCRIPT...");
		System.exit(2);
	}

	public static void main(String[] args) throws Exception {
		int parallelism = 1;
		boolean materialise = false;
		Map<String, String> vars = new HashMap<>();
		int i = 0;
		for (; i < args.length && args[i].startsWith("--"); i++) {
			switch (args[i]) {
			case "--parallelism":
				if (++i == args.length)
					usage("--parallelism needs a number");
				parallelism = Integer.parseInt(args[i]);
				break;
			case "--final":
				materialise = true;
				break;
			case "--set":
				if (++i == args.length || args[i].indexOf('=') < 1)
					usage("--set needs NAME=VALUE");
				int eq = args[i].indexOf('=');
				vars.put(args[i].substring(0, eq), args[i].substring(eq + 1));
				break;
			default:
				usage("unknown option " + args[i]);
			}
		}
		if (args.length - i < 2)
			usage("OUT and at least one SCRIPT are needed");
		String out = args[i++];
		StringBuilder text = new StringBuilder();
		for (; i < args.length; i++)
			text.append(Files.readString(Path.of(args[i]))).append('\n');
		List<String> statements = split(substitute(text.toString(), vars));
		if (statements.isEmpty())
			usage("the scripts hold no statement");

		Configuration conf = new Configuration();
		conf.setString("parallelism.default", Integer.toString(parallelism));
		conf.setString("table.local-time-zone", "UTC");
		EnvironmentSettings settings = EnvironmentSettings.newInstance()
		    .inStreamingMode().withConfiguration(conf).build();
		TableEnvironment env = TableEnvironment.create(settings);

		for (int s = 0; s < statements.size() - 1; s++)
			env.executeSql(statements.get(s)).await();
		TableResult result = env.executeSql(statements.get(statements.size() - 1));
		List<String> names = result.getResolvedSchema().getColumnNames();

		Writer w = out.equals("-")
		    ? new BufferedWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8), 1 << 16)
		    : Files.newBufferedWriter(Path.of(out), StandardCharsets.UTF_8);
		long rows = 0;
		try (CloseableIterator<Row> it = result.collect()) {
			if (materialise) {
				Map<String, Integer> table = new LinkedHashMap<>();
				while (it.hasNext()) {
					Row r = it.next();
					String line = json(names, r);
					RowKind k = r.getKind();
					if (k == RowKind.INSERT || k == RowKind.UPDATE_AFTER) {
						table.merge(line, 1, Integer::sum);
					} else {
						Integer n = table.get(line);
						if (n == null)
							throw new IllegalStateException("a " + k + " of a row not in the table: " + line);
						if (n == 1)
							table.remove(line);
						else
							table.put(line, n - 1);
					}
				}
				for (Map.Entry<String, Integer> e : table.entrySet())
					for (int n = 0; n < e.getValue(); n++, rows++)
						w.write(e.getKey() + "\n");
			} else {
				while (it.hasNext()) {
					Row r = it.next();
					if (r.getKind() != RowKind.INSERT)
						throw new IllegalStateException("the query's result updates ("
						    + r.getKind() + "); run it with --final");
					w.write(json(names, r));
					w.write('\n');
					rows++;
				}
			}
		}
		w.flush();
		if (!out.equals("-"))
			w.close();
		System.err.println("FlinkSql: " + rows + " rows");
	}

	private static String substitute(String text, Map<String, String> vars) {
		Matcher m = Pattern.compile("\\$\\{([A-Za-z_][A-Za-z0-9_]*)\\}").matcher(text);
		StringBuilder sb = new StringBuilder();
		while (m.find()) {
			String v = vars.get(m.group(1));
			if (v == null)
				usage("the script uses ${" + m.group(1) + "}: give --set " + m.group(1) + "=VALUE");
			m.appendReplacement(sb, Matcher.quoteReplacement(v));
		}
		m.appendTail(sb);
		return sb.toString();
	}

	private static List<String> split(String text) {
		List<String> statements = new ArrayList<>();
		StringBuilder cur = new StringBuilder();
		for (String line : text.split("\n", -1)) {
			String t = line.strip();
			if (t.startsWith("--"))
				continue;
			if (t.endsWith(";")) {
				cur.append(line, 0, line.lastIndexOf(';'));
				if (!cur.toString().isBlank())
					statements.add(cur.toString());
				cur.setLength(0);
			} else {
				cur.append(line).append('\n');
			}
		}
		if (!cur.toString().isBlank())
			statements.add(cur.toString());
		return statements;
	}

	private static String json(List<String> names, Row r) {
		StringBuilder sb = new StringBuilder(128);
		sb.append('{');
		for (int f = 0; f < r.getArity(); f++) {
			if (f > 0)
				sb.append(',');
			string(sb, names.get(f));
			sb.append(':');
			value(sb, r.getField(f));
		}
		return sb.append('}').toString();
	}

	private static void value(StringBuilder sb, Object v) {
		if (v == null)
			sb.append("null");
		else if (v instanceof String)
			string(sb, (String) v);
		else if (v instanceof BigDecimal)
			sb.append(((BigDecimal) v).toPlainString());
		else if (v instanceof Double || v instanceof Float) {
			double d = ((Number) v).doubleValue();
			if (Double.isNaN(d) || Double.isInfinite(d))
				sb.append("null");
			else
				sb.append(v);
		} else if (v instanceof Number || v instanceof Boolean)
			sb.append(v);
		else if (v instanceof LocalDateTime)
			sb.append(((LocalDateTime) v).toInstant(ZoneOffset.UTC).toEpochMilli());
		else if (v instanceof Instant)
			sb.append(((Instant) v).toEpochMilli());
		else
			string(sb, v.toString());
	}

	private static void string(StringBuilder sb, String s) {
		sb.append('"');
		for (int i = 0; i < s.length(); i++) {
			char c = s.charAt(i);
			switch (c) {
			case '"':
				sb.append("\\\"");
				break;
			case '\\':
				sb.append("\\\\");
				break;
			case '\n':
				sb.append("\\n");
				break;
			case '\r':
				sb.append("\\r");
				break;
			case '\t':
				sb.append("\\t");
				break;
			default:
				if (c < 0x20)
					sb.append(String.format("\\u%04x", (int) c));
				else
					sb.append(c);
			}
		}
		sb.append('"');
	}
}
