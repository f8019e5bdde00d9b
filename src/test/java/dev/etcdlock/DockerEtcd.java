package dev.etcdlock;

import dev.etcdlock.internal.local.EtcdFlags;
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

    /** The image when none is chosen with {@code -Detcd.image}. */
    static final String IMAGE = "gcr.io/etcd-development/etcd:v3.5.30";
    private static final int CLIENT_PORT = 2379;

    private final GenericContainer<?> container;

    private DockerEtcd(GenericContainer<?> container) {
        this.container = container;
    }

    static boolean isDockerAvailable() {
        return DockerClientFactory.instance().isDockerAvailable();
    }

    /**
     * Starts {@code image}; its tag (such as {@code v3.6.5}) says which etcd it is, so that flags are spelt as
     * that version wants ({@link EtcdFlags}); an image without a version tag is taken for the newest.
     */
    static DockerEtcd start(String image, List<String> etcdFlags) {
        DockerImageName name = DockerImageName.parse(image);
        String tag = name.getVersionPart();
        EtcdFlags flags = EtcdFlags.forVersion(tag.matches("v?\\d+\\.\\d+.*") ? tag : "3.7");
        List<String> command = new ArrayList<>(List.of("etcd", "--data-dir", "/tmp/etcd-data",
                "--listen-client-urls", "http://0.0.0.0:" + CLIENT_PORT,
                "--advertise-client-urls", "http://0.0.0.0:" + CLIENT_PORT));
        command.addAll(flags.logging());
        command.addAll(flags.translate(etcdFlags));
        GenericContainer<?> container = new GenericContainer<>(name)
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
