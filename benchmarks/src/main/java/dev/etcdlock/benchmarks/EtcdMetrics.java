package dev.etcdlock.benchmarks;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A scrape of etcd's Prometheus {@code /metrics} (served on the client port), summed over all members: server CPU
 * ({@code process_cpu_seconds_total}), gRPC calls handled and streams started per method, and watch events sent.
 */
final class EtcdMetrics {
    private static final HttpClient HTTP = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(2)).build();

    /** Series name with labels (as printed by etcd) to value, summed over members. */
    private final Map<String, Double> series;

    private EtcdMetrics(Map<String, Double> series) {
        this.series = series;
    }

    /** Scrapes every endpoint; null when one does not answer (metrics are then left out, not made up). */
    static EtcdMetrics scrape(List<String> endpoints) {
        Map<String, Double> sum = new HashMap<>();
        for (String endpoint : endpoints) {
            String body;
            try {
                HttpRequest request = HttpRequest.newBuilder(URI.create(endpoint.replaceAll("/+$", "") + "/metrics"))
                        .timeout(Duration.ofSeconds(5)).GET().build();
                HttpResponse<String> response = HTTP.send(request, HttpResponse.BodyHandlers.ofString());
                if (response.statusCode() != 200) {
                    return null;
                }
                body = response.body();
            } catch (IOException e) {
                return null;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return null;
            }
            for (String line : body.split("\n")) {
                if (line.isEmpty() || line.charAt(0) == '#') {
                    continue;
                }
                int space = line.lastIndexOf(' ');
                if (space <= 0) {
                    continue;
                }
                try {
                    sum.merge(line.substring(0, space), Double.parseDouble(line.substring(space + 1)), Double::sum);
                } catch (NumberFormatException ignored) {
                    // not a sample line
                }
            }
        }
        return new EtcdMetrics(sum);
    }

    /** Seconds of CPU the etcd processes used. */
    double cpuSeconds() {
        return series.getOrDefault("process_cpu_seconds_total", 0.0);
    }

    /** Unary or stream calls of {@code method} that ended (any code), e.g. {@code Txn}, {@code Range}, {@code Lock}. */
    double handled(String method) {
        return sumOf("grpc_server_handled_total", "grpc_method=\"" + method + "\"");
    }

    /** Calls or streams of {@code method} that were started, e.g. {@code Watch}, {@code LeaseKeepAlive}. */
    double started(String method) {
        return sumOf("grpc_server_started_total", "grpc_method=\"" + method + "\"");
    }

    /** Watch events this member sent to watchers. */
    double watchEventsSent() {
        return series.getOrDefault("etcd_debugging_mvcc_events_total", 0.0);
    }

    private double sumOf(String name, String label) {
        double total = 0;
        for (Map.Entry<String, Double> e : series.entrySet()) {
            String key = e.getKey();
            if (key.startsWith(name + "{") && key.contains(label)) {
                total += e.getValue();
            }
        }
        return total;
    }
}
