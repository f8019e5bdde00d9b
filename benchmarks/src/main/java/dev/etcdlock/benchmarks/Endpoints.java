package dev.etcdlock.benchmarks;

import java.util.Arrays;
import java.util.List;

/** Where etcd is: {@code -Detcd.endpoints=...} or {@code ETCD_ENDPOINTS} (comma separated client URLs). */
final class Endpoints {
    static final String PROPERTY = "etcd.endpoints";
    static final String ENV = "ETCD_ENDPOINTS";

    private Endpoints() {
    }

    /** The configured endpoints, or an empty list. */
    static List<String> configured() {
        String value = System.getProperty(PROPERTY);
        if (value == null || value.isBlank()) {
            value = System.getenv(ENV);
        }
        if (value == null || value.isBlank()) {
            return List.of();
        }
        return Arrays.stream(value.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
    }

    /** The configured endpoints; fails with a hint when there are none. */
    static List<String> require() {
        List<String> endpoints = configured();
        if (endpoints.isEmpty()) {
            throw new IllegalStateException("no etcd endpoints: set ETCD_ENDPOINTS=http://127.0.0.1:2379 (or "
                    + "-Detcd.endpoints=...), or start the benchmarks with benchmarks/run, which starts an etcd");
        }
        return endpoints;
    }
}
