package dev.etcdlock.internal.transport;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * etcd's version from its HTTP {@code /version} endpoint, which every etcd from 3.0 to 3.7 serves on its client URLs
 * to anyone. gRPC's only version-bearing call, {@code Maintenance.Status}, needs an authenticated user from etcd
 * 3.5.28 and admin rights from 3.5.28 to 3.5.31; a lock user that may not call it still gets the version here.
 */
final class ServerVersion {
    private static final System.Logger LOG = System.getLogger(ServerVersion.class.getName());
    /** {@code {"etcdserver":"3.5.30","etcdcluster":"3.5.0"}}. */
    private static final Pattern SERVER = Pattern.compile("\"etcdserver\"\\s*:\\s*\"([^\"]+)\"");

    private ServerVersion() {
    }

    /**
     * The version the first endpoint that answers reports, trying them in order within {@code timeout} in all;
     * empty when none answers (a proxy that passes only gRPC, say).
     */
    static Optional<String> overHttp(List<Endpoint> endpoints, TlsFiles tls, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        HttpClient.Builder builder = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .proxy(HttpClient.Builder.NO_PROXY).connectTimeout(timeout);
        if (tls != null && endpoints.stream().anyMatch(Endpoint::tls)) {
            builder.sslContext(tls.sslContext());
        }
        HttpClient http = builder.build();
        for (Endpoint endpoint : endpoints) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                break;
            }
            try {
                HttpResponse<String> response = http.send(HttpRequest.newBuilder(
                        URI.create(endpoint + "/version")).timeout(Duration.ofNanos(left)).GET().build(),
                        HttpResponse.BodyHandlers.ofString());
                Matcher m = SERVER.matcher(response.body());
                if (response.statusCode() == 200 && m.find()) {
                    return Optional.of(m.group(1));
                }
                LOG.log(System.Logger.Level.DEBUG, () -> endpoint + "/version answered " + response.statusCode());
            } catch (IOException | RuntimeException e) {
                LOG.log(System.Logger.Level.DEBUG, () -> endpoint + "/version: " + e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        return Optional.empty();
    }
}
