package dev.etcdlock.dist;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.etcdlock.SharedEtcd;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The jars as JPMS modules: a consumer module that {@code requires dev.etcdlock} compiles and locks with the
 * normal jar (an explicit module exporting only dev.etcdlock) and with the -all jar (an automatic module), and
 * cannot compile against the internal packages.
 */
class ModuleConsumerIT {

    @RegisterExtension
    static final SharedEtcd etcd = SharedEtcd.single();

    @Test
    void consumerModuleLocksThroughTheExplicitModule() {
        List<Path> modulePath = new ArrayList<>(DistFiles.lib());
        modulePath.add(0, DistFiles.jar());
        String out = compileAndRun("consumer-module", modulePath);
        assertTrue(out.contains("library module: dev.etcdlock, automatic false"), out);
        assertTrue(out.contains("library exports internal.lock: false"), out);
        // module-info's `requires jdk.unsupported` lets netty use direct buffers.
        assertFalse(out.contains("does not provide complete low-level API"), out);
    }

    @Test
    void consumerModuleLocksThroughTheAllJarAsAnAutomaticModule() {
        String out = compileAndRun("consumer-all", List.of(DistFiles.allJar()));
        assertTrue(out.contains("library module: dev.etcdlock, automatic true"), out);
    }

    @Test
    void internalPackagesAreNotExported() {
        Path work = DistFiles.work("consumer-internal");
        List<Path> modulePath = new ArrayList<>(DistFiles.lib());
        modulePath.add(0, DistFiles.jar());
        ChildJava.Compiled compiled = ChildJava.javac(DistFiles.sources(DistFiles.support("consumer-internal")),
                work.resolve("classes"), List.of("--module-path", DistFiles.path(modulePath)));
        assertFalse(compiled.success(), "a consumer module compiled against dev.etcdlock.internal:\n"
                + compiled.diagnostics());
        assertTrue(compiled.diagnostics().contains("package dev.etcdlock.internal.local is declared in module "
                + "dev.etcdlock, which does not export it"), compiled::diagnostics);
    }

    @Test
    void normalJarRunsTheCommandLineFromItsClassPath() {
        Path work = DistFiles.work("jar-cli");
        ChildJava.Ran ran = ChildJava.java(work, List.of("-jar", DistFiles.jar().toString(), "--help"), 60);
        assertEquals(0, ran.exitCode(), ran::toString);
        assertTrue(ran.output().startsWith("usage: java -jar etcd-lock.jar"), ran::toString);
    }

    /** Compiles src/it-support/consumer against {@code modulePath}, runs it as a module, checks it locked. */
    private static String compileAndRun(String workName, List<Path> modulePath) {
        Path work = DistFiles.work(workName);
        Path classes = work.resolve("classes");
        ChildJava.Compiled compiled = ChildJava.javac(DistFiles.sources(DistFiles.support("consumer")), classes,
                List.of("--module-path", DistFiles.path(modulePath)));
        assertTrue(compiled.success(), compiled::diagnostics);

        List<Path> runPath = new ArrayList<>(modulePath);
        runPath.add(0, classes);
        ChildJava.Ran ran = ChildJava.java(work, List.of("--module-path", DistFiles.path(runPath),
                "-m", "consumer/consumer.Main", etcd.clientEndpoints().get(0)), 120);
        assertEquals(0, ran.exitCode(), ran::toString);
        String out = ran.output();
        assertTrue(out.contains("consumer module: consumer"), ran::toString);
        if (System.getProperty("os.name").startsWith("Linux")) {
            assertTrue(out.contains("epoll available: true"), ran::toString);
        }
        Matcher locked = Pattern.compile("locked: token (\\d+), held true").matcher(out);
        assertTrue(locked.find(), ran::toString);
        assertTrue(Long.parseLong(locked.group(1)) > 0, ran::toString);
        assertTrue(out.contains("unlocked: token " + locked.group(1)), ran::toString);
        return out;
    }
}
