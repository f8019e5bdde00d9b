package dev.etcdlock.internal.cli;

import dev.etcdlock.EtcdLockClient;
import dev.etcdlock.internal.Engine;
import dev.etcdlock.internal.local.LocalEtcdCluster;
import java.io.PrintStream;
import java.util.List;

/** The etcd a command talks to: the given endpoints, or a throwaway local etcd it starts and stops. */
final class EtcdTarget implements AutoCloseable {
    private final Connection connection;
    private final LocalEtcdCluster local;

    private EtcdTarget(Connection connection, LocalEtcdCluster local) {
        this.connection = connection;
        this.local = local;
    }

    static EtcdTarget of(Options options, PrintStream out) {
        Connection connection = options.connection();
        if (!connection.endpoints().isEmpty()) {
            return new EtcdTarget(connection, null);
        }
        if (connection.tls().given() || connection.credentials() != null) {
            throw new IllegalArgumentException("--cacert, --cert, --key and --user are for an etcd given with "
                    + "--endpoints (or $ETCDCTL_ENDPOINTS); the throwaway local etcd serves plain http without "
                    + "authentication");
        }
        out.println("no --endpoints and no $ETCDCTL_ENDPOINTS: starting a throwaway local etcd");
        LocalEtcdCluster local = LocalEtcdCluster.start(1);
        return new EtcdTarget(connection.orEndpoints(local.clientEndpoints()), local);
    }

    List<String> endpoints() {
        return connection.endpoints();
    }

    /** A client builder for the target: its endpoints, TLS files, credentials and timeouts. */
    EtcdLockClient.Builder clientBuilder() {
        return connection.clientBuilder();
    }

    /** Engine settings for the target: its endpoints, TLS files, credentials and timeouts. */
    Engine.Settings settings() {
        return connection.settings();
    }

    /** Stops the throwaway etcd, if one was started. */
    @Override
    public void close() {
        if (local != null) {
            local.close();
        }
    }
}
