package dev.etcdlock;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** Reads one value from an etcd member's Prometheus {@code /metrics} page. */
public final class EtcdMetrics {
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    private EtcdMetrics() {
    }

    /**
     * The sum of the samples of {@code name} whose label set contains every {@code labels} entry (given as
     * {@code key="value"}); 0 when there is none.
     */
    public static double read(URI metrics, String name, String... labels) {
        return snapshot(metrics).value(name, labels);
    }

    /** The whole page read once, so that several values come from the same moment and cost one request. */
    public static Snapshot snapshot(URI metrics) {
        try {
            return new Snapshot(HTTP.send(HttpRequest.newBuilder(metrics).timeout(Duration.ofSeconds(5)).build(),
                    HttpResponse.BodyHandlers.ofString()).body());
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + metrics, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** One read of a {@code /metrics} page. */
    public static final class Snapshot {
        private final String[] lines;

        private Snapshot(String body) {
            this.lines = body.split("\n");
        }

        /** As {@link EtcdMetrics#read}: the sum of the matching samples, 0 when there is none. */
        public double value(String name, String... labels) {
            double sum = 0;
            for (String line : lines) {
                if (line.startsWith("#") || !(line.startsWith(name + " ") || line.startsWith(name + "{"))) {
                    continue;
                }
                boolean all = true;
                for (String label : labels) {
                    all &= line.contains(label);
                }
                if (all) {
                    sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
                }
            }
            return sum;
        }
    }
}
