package dev.etcdlock;

import dev.etcdlock.internal.local.LocalEtcdCluster;
import java.util.List;
import java.util.function.Supplier;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * One etcd, and optionally one client, shared by all tests of a class: started before the first test and stopped
 * after the last (after the class's own {@code @AfterAll}, so what that closes goes first). Register it with
 * <pre>{@code @RegisterExtension static final SharedEtcd etcd = SharedEtcd.single().withClient();}</pre>
 * An extension rather than a base class so that test classes in any package, and ones that extend something else,
 * can use it.
 */
public final class SharedEtcd implements BeforeAllCallback, AfterAllCallback {
    private final Supplier<EtcdTestCluster> starter;
    private final boolean withClient;
    private EtcdTestCluster cluster;
    private EtcdLockClient client;

    private SharedEtcd(Supplier<EtcdTestCluster> starter, boolean withClient) {
        this.starter = starter;
        this.withClient = withClient;
    }

    /** One etcd member ({@link EtcdTestCluster#single()}). */
    public static SharedEtcd single() {
        return of(EtcdTestCluster::single);
    }

    /** Whatever {@code starter} starts, e.g. {@code () -> EtcdTestCluster.single(flags)}. */
    public static SharedEtcd of(Supplier<EtcdTestCluster> starter) {
        return new SharedEtcd(starter, false);
    }

    /** The same etcd, with one {@link EtcdLockClient} connected to all its endpoints. */
    public SharedEtcd withClient() {
        return new SharedEtcd(starter, true);
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        cluster = starter.get();
        if (withClient) {
            client = EtcdLockClient.connect(endpoints());
        }
    }

    @Override
    public void afterAll(ExtensionContext context) {
        try {
            if (client != null) {
                client.close();
            }
        } finally {
            if (cluster != null) {
                cluster.close();
            }
        }
    }

    public EtcdTestCluster cluster() {
        return started(cluster);
    }

    public List<String> clientEndpoints() {
        return cluster().clientEndpoints();
    }

    /** The endpoints as one comma separated string, as the CLI and etcdctl take them. */
    public String endpoints() {
        return String.join(",", clientEndpoints());
    }

    /** The shared client; only with {@link #withClient()}. */
    public EtcdLockClient client() {
        if (!withClient) {
            throw new IllegalStateException("this SharedEtcd has no client: register it with .withClient()");
        }
        return started(client);
    }

    /** See {@link EtcdTestCluster#local()}: skips the calling test where faults cannot be injected. */
    public LocalEtcdCluster local() {
        return cluster().local();
    }

    private static <T> T started(T value) {
        if (value == null) {
            throw new IllegalStateException("etcd is not started yet: use SharedEtcd from a @RegisterExtension "
                    + "static field, and only once its beforeAll has run (in tests or @BeforeAll methods)");
        }
        return value;
    }
}
