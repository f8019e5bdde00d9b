package dev.etcdlock.dist;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Where the packaged artifacts are. Failsafe passes the paths as system properties (see pom.xml); run these
 * tests with {@code mvn verify}, which builds the jars first.
 */
final class DistFiles {

    private DistFiles() {
    }

    /** etcd-lock.jar, the normal artifact. */
    static Path jar() {
        return existing("etcdlock.dist.jar");
    }

    /** etcd-lock-&lt;version&gt;-all.jar, the relocated artifact. */
    static Path allJar() {
        return existing("etcdlock.dist.allJar");
    }

    /** target/lib: the normal artifact's runtime dependencies. */
    static List<Path> lib() {
        return jarsIn(existing("etcdlock.dist.lib"));
    }

    /** Old grpc, protobuf and guava jars that an application might already have. */
    static List<Path> oldLibs() {
        return jarsIn(existing("etcdlock.dist.oldLibs"));
    }

    /** src/it-support/&lt;name&gt;: sources of a child application. */
    static Path support(String name) {
        return existing("etcdlock.dist.support").resolve(name);
    }

    /** A fresh scratch directory under target/it-work. */
    static Path work(String name) {
        Path dir = Path.of(property("etcdlock.dist.work")).resolve(name);
        try {
            if (Files.exists(dir)) {
                try (Stream<Path> walk = Files.walk(dir)) {
                    walk.sorted((a, b) -> b.getNameCount() - a.getNameCount()).forEach(p -> p.toFile().delete());
                }
            }
            return Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String path(List<Path> entries) {
        return entries.stream().map(Path::toString).collect(Collectors.joining(File.pathSeparator));
    }

    static List<Path> sources(Path dir) {
        try (Stream<Path> walk = Files.walk(dir)) {
            return walk.filter(p -> p.toString().endsWith(".java")).sorted().collect(Collectors.toList());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static List<Path> jarsIn(Path dir) {
        try (Stream<Path> list = Files.list(dir)) {
            List<Path> jars = list.filter(p -> p.toString().endsWith(".jar")).sorted().collect(Collectors.toList());
            if (jars.isEmpty()) {
                throw new IllegalStateException("no jars in " + dir + "; run the tests with `mvn verify`");
            }
            return jars;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Path existing(String property) {
        Path path = Path.of(property(property));
        if (!Files.exists(path)) {
            throw new IllegalStateException(path + " (" + property + ") does not exist; run these tests with "
                    + "`mvn verify`, which packages the jars before the integration tests");
        }
        return path;
    }

    private static String property(String name) {
        String value = System.getProperty(name);
        if (value == null) {
            throw new IllegalStateException("system property " + name + " is not set; run these tests with "
                    + "`mvn verify` (failsafe sets it), not from surefire or an IDE");
        }
        return value;
    }
}
