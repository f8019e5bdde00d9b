package consumer;

/** Must not compile: dev.etcdlock does not export its internal packages. */
public final class Internal {
    static final Class<?> HIDDEN = dev.etcdlock.internal.local.LocalEtcdCluster.class;
}
