package dev.etcdlock.benchmarks;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The entries of a JMH JSON result file, with the unit conversions the table and the chart need. */
final class Results {
    record Entry(String method, String mode, Map<String, String> params, JsonObject primary, JsonObject secondary) {

        /** The primary score as operations per second (throughput modes). */
        double perSecond() {
            return primary.get("score").getAsDouble() * perSecondFactor(primary.get("scoreUnit").getAsString());
        }

        /** A percentile of a sample-time result, in µs ({@code "50.0"}, {@code "99.0"}). */
        double percentileMicros(String percentile) {
            JsonObject p = primary.getAsJsonObject("scorePercentiles");
            if (p == null || !p.has(percentile)) {
                return Double.NaN;
            }
            return p.get(percentile).getAsDouble() * microsFactor(primary.get("scoreUnit").getAsString());
        }

        /** Operations per second from a time-per-operation score (single shot, average, sample). */
        double ratePerSecondFromTime() {
            double micros = primary.get("score").getAsDouble() * microsFactor(primary.get("scoreUnit").getAsString());
            return 1e6 / micros;
        }

        /** A secondary metric's score, or NaN when absent. */
        double secondary(String label) {
            if (secondary == null || !secondary.has(label)) {
                return Double.NaN;
            }
            JsonElement score = secondary.getAsJsonObject(label).get("score");
            return score == null || score.isJsonNull() ? Double.NaN : score.getAsDouble();
        }

        boolean matches(String method, String mode, String... params) {
            if (!this.method.equals(method) || !this.mode.equals(mode)) {
                return false;
            }
            for (int i = 0; i + 1 < params.length; i += 2) {
                if (!params[i + 1].equals(this.params.get(params[i]))) {
                    return false;
                }
            }
            return true;
        }
    }

    final List<Entry> entries = new ArrayList<>();

    static Results load(Path json) throws IOException {
        Results r = new Results();
        JsonArray array = JsonParser.parseString(Files.readString(json, StandardCharsets.UTF_8)).getAsJsonArray();
        for (JsonElement e : array) {
            JsonObject o = e.getAsJsonObject();
            String benchmark = o.get("benchmark").getAsString();
            String method = benchmark.substring(benchmark.lastIndexOf('.') + 1);
            Map<String, String> params = new LinkedHashMap<>();
            if (o.has("params")) {
                for (Map.Entry<String, JsonElement> p : o.getAsJsonObject("params").entrySet()) {
                    params.put(p.getKey(), p.getValue().getAsString());
                }
            }
            r.entries.add(new Entry(method, o.get("mode").getAsString(), params, o.getAsJsonObject("primaryMetric"),
                    o.getAsJsonObject("secondaryMetrics")));
        }
        return r;
    }

    /** The first entry of the method, mode ({@code thrpt}, {@code sample}, {@code ss}) and params, or null. */
    Entry find(String method, String mode, String... params) {
        for (Entry e : entries) {
            if (e.matches(method, mode, params)) {
                return e;
            }
        }
        return null;
    }

    static double perSecondFactor(String unit) {
        return switch (unit) {
            case "ops/s" -> 1;
            case "ops/ms" -> 1e3;
            case "ops/us" -> 1e6;
            case "ops/ns" -> 1e9;
            case "ops/min" -> 1.0 / 60;
            default -> throw new IllegalArgumentException("not a throughput unit: " + unit);
        };
    }

    static double microsFactor(String unit) {
        return switch (unit) {
            case "s/op" -> 1e6;
            case "ms/op" -> 1e3;
            case "us/op" -> 1;
            case "ns/op" -> 1e-3;
            default -> throw new IllegalArgumentException("not a time unit: " + unit);
        };
    }
}
