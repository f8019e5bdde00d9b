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
     * The version the first endpoint that answers reports, trying them in order, each with an equal share of
     * {@code timeout} (so a silent first member leaves time for the others); empty when none answers (a proxy that
     * passes only gRPC, say).
     */
    static Optional<String> overHttp(List<Endpoint> endpoints, TlsFiles tls, Duration timeout) {
        if (timeout.isZero() || timeout.isNegative()) {
            return Optional.empty();
        }
        Duration share = timeout.dividedBy(endpoints.size());
        HttpClient http;
        try {
            HttpClient.Builder builder = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                    .proxy(HttpClient.Builder.NO_PROXY).connectTimeout(share);
            if (tls != null && endpoints.stream().anyMatch(Endpoint::tls)) {
                builder.sslContext(tls.sslContext());
            }
            http = builder.build();
        } catch (RuntimeException e) { // gRPC took these files; a version is not worth failing the connect for
            LOG.log(System.Logger.Level.DEBUG, () -> "no HTTPS client for /version: " + e);
            return Optional.empty();
        }
        try {
            for (Endpoint endpoint : endpoints) {
                Optional<String> version = ask(http, endpoint, share);
                if (version.isPresent() || Thread.currentThread().isInterrupted()) {
                    return version;
                }
            }
            return Optional.empty();
        } finally {
            if (http instanceof AutoCloseable closeable) { // Java 21+: its threads and connection go at once
                try {
                    closeable.close();
                } catch (Exception e) {
                    LOG.log(System.Logger.Level.DEBUG, () -> "closing the /version client: " + e);
                }
            }
        }
    }

    private static Optional<String> ask(HttpClient http, Endpoint endpoint, Duration timeout) {
        try {
            HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(endpoint + "/version"))
                    .timeout(timeout).GET().build(),
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
        }
        return Optional.empty();
    }
}
