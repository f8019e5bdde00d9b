package dev.etcdlock.internal.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.etcdlock.EtcdKeys;
import dev.etcdlock.SharedEtcd;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class DemoCommandTest {
    @RegisterExtension
    static final SharedEtcd etcd = SharedEtcd.single();

    @Test
    void app2WaitsForApp1AndGetsALargerFencingToken() {
        CliRun run = CliRun.of("demo", "--endpoints", etcd.endpoints());

        System.out.println(run);
        assertEquals(0, run.code(), run::toString);
        long token1 = number(run, "app-1  acquired \\S+, fencing token (\\d+)");
        long token2 = number(run, "app-2  acquired \\S+, fencing token (\\d+), after waiting \\d+ ms");
        long waited = number(run, "app-2  acquired .*after waiting (\\d+) ms");
        assertTrue(waited >= 950, "app-2 should wait about 1 s for app-1, waited " + waited + " ms\n" + run);
        assertTrue(token2 > token1, "app-2's token must be larger\n" + run);
        assertTrue(run.out().contains("REFUSED (token " + token1 + " < " + token2 + ")"), run::toString);
        assertTrue(run.out().contains("keys left under /my-app/locks/config-update/: 0"), run::toString);
        assertEquals(List.of(), EtcdKeys.keysUnder(etcd.clientEndpoints(), DemoCommand.LOCK + "/"));
    }

    @Test
    void helpAndBadOptions() {
        CliRun help = CliRun.of("demo", "--help");
        assertEquals(0, help.code(), help::toString);
        assertTrue(help.out().startsWith("usage: java -jar etcd-lock.jar demo"), help::toString);

        CliRun bad = CliRun.of("demo", "--nope");
        assertEquals(2, bad.code(), bad::toString);
        assertTrue(bad.err().contains("unknown option '--nope'"), bad::toString);
    }

    private static long number(CliRun run, String regex) {
        Matcher m = Pattern.compile(regex).matcher(run.out());
        assertTrue(m.find(), () -> "no line matching " + regex + "\n" + run);
        return Long.parseLong(m.group(1));
    }
}
