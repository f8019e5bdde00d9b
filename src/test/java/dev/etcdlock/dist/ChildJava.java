package dev.etcdlock.dist;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.tools.DiagnosticCollector;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;

/** Compiles a child application with javax.tools and runs it in its own JVM, as a user of the jars would. */
final class ChildJava {

    /** What javac said. */
    record Compiled(boolean success, String diagnostics) {
    }

    /** What a child JVM printed (stdout and stderr together) and how it ended. */
    record Ran(int exitCode, String output) {
        @Override
        public String toString() {
            return "exit " + exitCode + ", output:\n" + output;
        }
    }

    private ChildJava() {
    }

    /** Compiles {@code sources} into {@code out} with {@code options} (e.g. --module-path ...). */
    static Compiled javac(List<Path> sources, Path out, List<String> options) {
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        if (javac == null) {
            throw new IllegalStateException("no system Java compiler: run the tests on a JDK, not a JRE");
        }
        DiagnosticCollector<JavaFileObject> diagnostics = new DiagnosticCollector<>();
        List<String> all = new ArrayList<>(options);
        if (!options.contains("-classpath")) {
            // javac in this JVM would otherwise default to this JVM's class path, which holds etcd-lock itself.
            all.addAll(List.of("-classpath", out.toString()));
        }
        all.addAll(List.of("--release", "17", "-d", out.toString()));
        try (StandardJavaFileManager files = javac.getStandardFileManager(diagnostics, null, StandardCharsets.UTF_8)) {
            StringWriter log = new StringWriter();
            boolean ok = javac.getTask(log, files, diagnostics, all, null,
                    files.getJavaFileObjectsFromPaths(sources)).call();
            StringBuilder text = new StringBuilder(log.toString());
            diagnostics.getDiagnostics().forEach(d -> text.append(d).append('\n'));
            return new Compiled(ok, text.toString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Runs {@code java <args>} from this JDK, killing it after {@code timeoutSeconds}. */
    static Ran java(Path workDir, List<String> args, int timeoutSeconds) {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(args);
        Path log = workDir.resolve("child-output.txt");
        try {
            Process process = new ProcessBuilder(command).directory(workDir.toFile()).redirectErrorStream(true)
                    .redirectOutput(log.toFile()).start();
            try {
                if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                    process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                    throw new AssertionError("child JVM did not finish in " + timeoutSeconds + " s: " + command
                            + "\noutput so far:\n" + Files.readString(log));
                }
            } catch (InterruptedException e) {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted while waiting for " + command, e);
            }
            return new Ran(process.exitValue(), Files.readString(log));
        } catch (IOException e) {
            throw new UncheckedIOException("could not run " + command, e);
        }
    }
}
