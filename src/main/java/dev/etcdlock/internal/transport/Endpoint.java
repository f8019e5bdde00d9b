package dev.etcdlock.internal.transport;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * One etcd client URL, validated up front so that a typo fails at {@code build()} with a message naming the bad
 * endpoint instead of surfacing later as a connection timeout.
 */
public record Endpoint(String scheme, String host, int port) {

    public Endpoint {
        Objects.requireNonNull(scheme, "scheme");
        Objects.requireNonNull(host, "host");
    }

    public boolean tls() {
        return scheme.equals("https");
    }

    /** {@code host:port}, with IPv6 literals bracketed. */
    public String authority() {
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
    }

    @Override
    public String toString() {
        return scheme + "://" + authority();
    }

    /**
     * Parses {@code http://host:port}, {@code https://host:port} or a bare {@code host:port} (taken as http, as
     * etcdctl does).
     *
     * @throws IllegalArgumentException naming the endpoint and what is wrong with it
     */
    public static Endpoint parse(String text) {
        if (text == null || text.isBlank()) {
            throw new IllegalArgumentException("etcd endpoint is empty: give a URL like http://127.0.0.1:2379");
        }
        String trimmed = text.strip();
        String withScheme = trimmed.contains("://") ? trimmed : "http://" + trimmed;
        URI uri;
        try {
            uri = new URI(withScheme);
        } catch (URISyntaxException e) {
            throw bad(text, "it is not a URL (" + e.getReason() + ")");
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https")) {
            throw bad(text, "scheme '" + scheme + "' is not supported; use http:// or https://");
        }
        if (uri.getHost() == null || uri.getHost().isEmpty()) {
            throw bad(text, "it has no host");
        }
        if (uri.getPort() == -1) {
            throw bad(text, "it has no port (etcd's client port is usually 2379)");
        }
        if (uri.getPort() < 1 || uri.getPort() > 65535) {
            throw bad(text, "port " + uri.getPort() + " is out of range");
        }
        String path = uri.getRawPath();
        if ((path != null && !path.isEmpty() && !path.equals("/")) || uri.getRawQuery() != null
                || uri.getRawFragment() != null || uri.getRawUserInfo() != null) {
            throw bad(text, "only scheme, host and port are allowed (no path, query or user info)");
        }
        String host = uri.getHost();
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        return new Endpoint(scheme, host, uri.getPort());
    }

    /**
     * Parses a list of endpoints; entries may themselves be comma separated, as in {@code ETCD_ENDPOINTS}.
     * Duplicates are dropped; mixing http and https is refused because one channel uses one transport security.
     */
    public static List<Endpoint> parseAll(List<String> texts) {
        if (texts == null || texts.isEmpty()) {
            throw new IllegalArgumentException("no etcd endpoints given: set at least one, like http://127.0.0.1:2379");
        }
        LinkedHashSet<Endpoint> endpoints = new LinkedHashSet<>();
        for (String text : texts) {
            if (text == null) {
                throw new IllegalArgumentException("etcd endpoint is null: give a URL like http://127.0.0.1:2379");
            }
            for (String part : text.split(",", -1)) {
                endpoints.add(parse(part));
            }
        }
        List<Endpoint> list = new ArrayList<>(endpoints);
        boolean tls = list.get(0).tls();
        for (Endpoint e : list) {
            if (e.tls() != tls) {
                throw new IllegalArgumentException(
                        "etcd endpoints mix http and https (" + list + "): use one scheme for all members");
            }
        }
        return List.copyOf(list);
    }

    private static IllegalArgumentException bad(String text, String why) {
        return new IllegalArgumentException("bad etcd endpoint '" + text + "': " + why);
    }
}
