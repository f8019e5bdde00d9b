package dev.etcdlock.dist;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.etcdlock.SharedEtcd;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.jar.Attributes;
import java.util.jar.JarFile;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * etcd-lock-&lt;version&gt;-all.jar: everything third-party relocated under dev.etcdlock.shaded, netty's native
 * epoll still loading under its relocated name, and an application with its own old grpc and protobuf taking a
 * lock through it in one JVM.
 */
class AllJarIT {

    private static final String SHADED_NETTY = "dev.etcdlock.shaded.io.grpc.netty.shaded.io.netty.";

    @RegisterExtension
    static final SharedEtcd etcd = SharedEtcd.single();

    @Test
    void holdsOnlyRelocatedClassesServicesAndNatives() throws IOException {
        try (JarFile jar = new JarFile(DistFiles.allJar().toFile())) {
            List<String> names = jar.stream().map(e -> e.getName()).collect(Collectors.toList());
            Set<String> entries = Set.copyOf(names);

            List<String> foreign = names.stream().filter(n -> n.endsWith(".class"))
                    .filter(n -> !n.startsWith("dev/etcdlock/")).collect(Collectors.toList());
            assertEquals(List.of(), foreign, "classes outside dev/etcdlock/ would clash with the application's");
            assertTrue(names.stream().noneMatch(n -> n.endsWith("module-info.class")), "module descriptors left");
            assertTrue(entries.contains("dev/etcdlock/internal/proto/KVGrpc.class"), "generated stubs moved");
            assertTrue(entries.contains("dev/etcdlock/shaded/com/google/protobuf/Message.class"));
            assertTrue(entries.contains("dev/etcdlock/shaded/com/google/common/collect/ImmutableList.class"));
            assertTrue(entries.contains("dev/etcdlock/shaded/io/perfmark/PerfMark.class"));

            Attributes manifest = jar.getManifest().getMainAttributes();
            assertEquals("dev.etcdlock.internal.cli.Main", manifest.getValue("Main-Class"));
            assertEquals("dev.etcdlock", manifest.getValue("Automatic-Module-Name"));
            assertNull(manifest.getValue("Class-Path"), "the -all jar must not pull the unrelocated lib/ jars");

            List<String> natives = names.stream().filter(n -> n.startsWith("META-INF/native/") && !n.endsWith("/"))
                    .collect(Collectors.toList());
            assertTrue(natives.contains("META-INF/native/"
                    + "libdev_etcdlock_shaded_io_grpc_netty_shaded_netty_transport_native_epoll_x86_64.so"), natives::toString);
            assertTrue(natives.contains("META-INF/native/"
                    + "libdev_etcdlock_shaded_io_grpc_netty_shaded_netty_transport_native_epoll_aarch_64.so"), natives::toString);
            assertTrue(natives.stream().allMatch(n -> n.startsWith("META-INF/native/libdev_etcdlock_shaded_")
                    || n.startsWith("META-INF/native/dev_etcdlock_shaded_")), () -> "natives not renamed: " + natives);

            List<String> services = names.stream().filter(n -> n.startsWith("META-INF/services/") && !n.endsWith("/"))
                    .collect(Collectors.toList());
            assertTrue(services.contains("META-INF/services/dev.etcdlock.shaded.io.grpc.ManagedChannelProvider"),
                    services::toString);
            for (String service : services) {
                assertTrue(service.startsWith("META-INF/services/dev.etcdlock.shaded."), service);
                String text = new String(jar.getInputStream(jar.getEntry(service)).readAllBytes(),
                        StandardCharsets.UTF_8);
                for (String line : text.split("\n")) {
                    String provider = line.replaceAll("#.*", "").trim();
                    if (!provider.isEmpty()) {
                        assertTrue(entries.contains(provider.replace('.', '/') + ".class"),
                                () -> service + " names " + provider + ", which is not in the jar");
                    }
                }
            }
        }
    }

    @Test
    void locksBesideOldGrpcAndProtobufWithNativeEpoll() {
        Path work = DistFiles.work("conflict");
        List<Path> classPath = new ArrayList<>(DistFiles.oldLibs());
        classPath.add(DistFiles.allJar());
        ChildJava.Compiled compiled = ChildJava.javac(DistFiles.sources(DistFiles.support("conflict")),
                work.resolve("classes"), List.of("-classpath", DistFiles.path(classPath)));
        assertTrue(compiled.success(), compiled::diagnostics);

        classPath.add(0, work.resolve("classes"));
        Path classLog = work.resolve("class-load.txt");
        ChildJava.Ran ran = ChildJava.java(work, List.of("-Xlog:class+load=info:file=" + classLog,
                "-cp", DistFiles.path(classPath), "app.ConflictApp", etcd.clientEndpoints().get(0)), 120);

        assertEquals(0, ran.exitCode(), ran::toString);
        String out = ran.output();
        // The application sees its own old libraries ...
        assertTrue(out.contains("app protobuf jar: protobuf-java-3."), ran::toString);
        assertTrue(out.contains("app protobuf has RuntimeVersion (4.x only): false"), ran::toString);
        assertTrue(out.contains("app protobuf round trip: 1700000000.42"), ran::toString);
        assertTrue(out.contains("app grpc-api jar: grpc-api-1.65."), ran::toString);
        assertTrue(out.contains("app grpc transport jar: grpc-netty-shaded-1.65."), ran::toString);
        assertTrue(out.contains("app grpc has StatusOr (in 1.83, not in 1.65): false"), ran::toString);
        assertTrue(out.contains("app grpc call: etcd 3."), ran::toString);
        // ... and etcd-lock its relocated ones, with netty's native transport.
        assertTrue(out.contains("etcd-lock jar: " + DistFiles.allJar().getFileName()), ran::toString);
        if (nativeLibrariesShipped()) {
            assertTrue(out.contains("etcd-lock epoll available: true"), ran::toString);
            assertTrue(out.contains("etcd-lock openssl available: true"), ran::toString);
        }
        Matcher locked = Pattern.compile("etcd-lock locked: token (\\d+), held true").matcher(out);
        assertTrue(locked.find(), ran::toString);
        assertTrue(Long.parseLong(locked.group(1)) > 0, ran::toString);
        assertTrue(out.contains("etcd-lock unlocked: token " + locked.group(1)), ran::toString);

        String loaded = readString(classLog);
        if (!nativeLibrariesShipped()) {
            return;
        }
        assertTrue(loaded.contains(SHADED_NETTY + "channel.epoll.EpollSocketChannel "),
                "etcd-lock's channel did not use netty's epoll transport; see " + classLog);
        assertFalse(loaded.contains(SHADED_NETTY + "channel.socket.nio.NioSocketChannel "),
                "etcd-lock's channel fell back to NIO; see " + classLog);
    }

    @Test
    void runsTheCommandLine() {
        Path work = DistFiles.work("all-cli");
        ChildJava.Ran ran = ChildJava.java(work, List.of("-jar", DistFiles.allJar().toString(), "--help"), 60);
        assertEquals(0, ran.exitCode(), ran::toString);
        assertTrue(ran.output().startsWith("usage: java -jar etcd-lock.jar"), ran::toString);
    }

    /** grpc-netty-shaded has epoll for Linux on x86_64 and aarch64 only. */
    private static boolean nativeLibrariesShipped() {
        String arch = System.getProperty("os.arch");
        return System.getProperty("os.name").startsWith("Linux")
                && (arch.equals("amd64") || arch.equals("x86_64") || arch.equals("aarch64"));
    }

    private static String readString(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw new AssertionError("could not read " + file, e);
        }
    }
}
