package dev.etcdlock.internal.cli;

import dev.etcdlock.internal.local.LocalEtcdCluster;
import java.io.PrintStream;
import java.util.List;

/** The etcd a command talks to: the given endpoints, or a throwaway local etcd it starts and stops. */
final class EtcdTarget implements AutoCloseable {
    private final List<String> endpoints;
    private final LocalEtcdCluster local;

    private EtcdTarget(List<String> endpoints, LocalEtcdCluster local) {
        this.endpoints = endpoints;
        this.local = local;
    }

    static EtcdTarget of(Options options, PrintStream out) {
        if (!options.endpoints().isEmpty()) {
            return new EtcdTarget(options.endpoints(), null);
        }
        out.println("no --endpoints and no $ETCD_ENDPOINTS: starting a throwaway local etcd");
        LocalEtcdCluster local = LocalEtcdCluster.start(1);
        return new EtcdTarget(local.clientEndpoints(), local);
    }

    List<String> endpoints() {
        return endpoints;
    }

    /** Stops the throwaway etcd, if one was started. */
    @Override
    public void close() {
        if (local != null) {
            local.close();
        }
    }
}
