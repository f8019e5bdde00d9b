package dev.etcdlock.internal.transport;

import io.grpc.EquivalentAddressGroup;
import io.grpc.NameResolver;
import io.grpc.StatusOr;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;

/**
 * Hands gRPC the configured members, one address group each, so its round-robin balancer can skip a member that
 * is down and spread new streams over the rest. Host names are resolved when the client is built, so an unknown
 * host fails at once with a message instead of as a connect timeout.
 */
final class StaticNameResolver extends NameResolver {
    static final String SCHEME = "etcd-lock";

    private final String authority;
    private final List<EquivalentAddressGroup> groups;

    private StaticNameResolver(String authority, List<EquivalentAddressGroup> groups) {
        this.authority = authority;
        this.groups = groups;
    }

    static NameResolver.Factory factory(List<Endpoint> endpoints) {
        List<EquivalentAddressGroup> groups = new ArrayList<>();
        for (Endpoint endpoint : endpoints) {
            InetAddress[] addresses;
            try {
                addresses = InetAddress.getAllByName(endpoint.host());
            } catch (UnknownHostException e) {
                throw new IllegalArgumentException("bad etcd endpoint '" + endpoint + "': unknown host '"
                        + endpoint.host() + "'", e);
            }
            List<SocketAddress> socketAddresses = new ArrayList<>();
            for (InetAddress address : addresses) {
                socketAddresses.add(new InetSocketAddress(address, endpoint.port()));
            }
            groups.add(new EquivalentAddressGroup(socketAddresses));
        }
        String authority = endpoints.get(0).authority();
        List<EquivalentAddressGroup> fixed = List.copyOf(groups);
        return new NameResolver.Factory() {
            @Override
            public NameResolver newNameResolver(URI targetUri, NameResolver.Args args) {
                return new StaticNameResolver(authority, fixed);
            }

            @Override
            public String getDefaultScheme() {
                return SCHEME;
            }
        };
    }

    @Override
    public String getServiceAuthority() {
        return authority;
    }

    @Override
    public void start(Listener2 listener) {
        listener.onResult(ResolutionResult.newBuilder().setAddressesOrError(StatusOr.fromValue(groups)).build());
    }

    @Override
    public void shutdown() {
    }
}
