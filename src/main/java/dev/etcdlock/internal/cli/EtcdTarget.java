package dev.etcdlock.internal.cli;

import dev.etcdlock.EtcdLockClient;
import dev.etcdlock.internal.Engine;
import dev.etcdlock.internal.local.LocalEtcdCluster;
import java.io.PrintStream;
import java.util.List;

/** The etcd a command talks to: the given endpoints, or a throwaway local etcd it starts and stops. */
final class EtcdTarget implements AutoCloseable {
    /** The help of the TLS options every command takes, as etcdctl names them. */
    static final String TLS_OPTIONS_HELP = String.join("\n",
            "  --cacert FILE       CA certificate (PEM) that etcd's server certificate is verified with",
            "                      (default: the JVM's trusted CAs)",
            "  --cert FILE         client certificate (PEM) for an etcd with --client-cert-auth; needs --key",
            "  --key FILE          its private key: unencrypted PKCS#8 PEM (BEGIN PRIVATE KEY); convert",
            "                      others with: openssl pkey -in FILE -out FILE.pk8");

    private final List<String> endpoints;
    private final Options.Tls tls;
    private final LocalEtcdCluster local;

    private EtcdTarget(List<String> endpoints, Options.Tls tls, LocalEtcdCluster local) {
        this.endpoints = endpoints;
        this.tls = tls;
        this.local = local;
    }

    static EtcdTarget of(Options options, PrintStream out) {
        if (!options.endpoints().isEmpty()) {
            return new EtcdTarget(options.endpoints(), options.tls(), null);
        }
        if (options.tls().given()) {
            throw new IllegalArgumentException("--cacert, --cert and --key are for an etcd given with --endpoints "
                    + "(or $ETCD_ENDPOINTS); the throwaway local etcd serves plain http");
        }
        out.println("no --endpoints and no $ETCD_ENDPOINTS: starting a throwaway local etcd");
        LocalEtcdCluster local = LocalEtcdCluster.start(1);
        return new EtcdTarget(local.clientEndpoints(), Options.Tls.NONE, local);
    }

    List<String> endpoints() {
        return endpoints;
    }

    /** A client builder for the target: its endpoints and TLS files. */
    EtcdLockClient.Builder clientBuilder() {
        return tls.applyTo(EtcdLockClient.builder().endpoints(endpoints));
    }

    /** Engine settings for the target: its endpoints and TLS files. */
    Engine.Settings settings() {
        return Engine.Settings.of(endpoints).withTls(tls.files());
    }

    /** Stops the throwaway etcd, if one was started. */
    @Override
    public void close() {
        if (local != null) {
            local.close();
        }
    }
}
