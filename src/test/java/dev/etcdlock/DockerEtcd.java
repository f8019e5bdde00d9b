package dev.etcdlock;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.utility.DockerImageName;

/**
 * etcd in a Docker container. Kept apart from {@link EtcdTestCluster} so that Testcontainers is only loaded
 * when a Docker engine is likely to be there.
 */
final class DockerEtcd implements AutoCloseable {

    static final String IMAGE = "gcr.io/etcd-development/etcd:v3.5.17";
    private static final int CLIENT_PORT = 2379;

    private final GenericContainer<?> container;

    private DockerEtcd(GenericContainer<?> container) {
        this.container = container;
    }

    static boolean isDockerAvailable() {
        return DockerClientFactory.instance().isDockerAvailable();
    }

    static DockerEtcd start(List<String> etcdFlags) {
        List<String> command = new ArrayList<>(List.of("etcd",
                "--listen-client-urls", "http://0.0.0.0:" + CLIENT_PORT,
                "--advertise-client-urls", "http://0.0.0.0:" + CLIENT_PORT));
        command.addAll(etcdFlags);
        GenericContainer<?> container = new GenericContainer<>(DockerImageName.parse(IMAGE))
                .withCommand(command.toArray(new String[0]))
                .withExposedPorts(CLIENT_PORT)
                .waitingFor(Wait.forLogMessage(".*ready to serve client requests.*", 1)
                        .withStartupTimeout(Duration.ofSeconds(120)));
        container.start();
        return new DockerEtcd(container);
    }

    String endpoint() {
        return "http://" + container.getHost() + ":" + container.getMappedPort(CLIENT_PORT);
    }

    @Override
    public void close() {
        container.stop();
    }
}
