package dev.etcdlock.internal.transport;

/**
 * What the client learnt of etcd when it connected.
 *
 * @param version the etcd version of the member that answered, such as {@code 3.5.30}, or {@link #UNKNOWN}
 * @param leader  the leader's member id, 0 when the user may not ask (etcd's {@code Maintenance.Status})
 */
public record ServerInfo(String version, long leader) {
    /** The version when neither {@code Maintenance.Status} nor the HTTP {@code /version} endpoint answered. */
    public static final String UNKNOWN = "unknown";
}
