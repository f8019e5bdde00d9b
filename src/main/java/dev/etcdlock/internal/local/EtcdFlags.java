package dev.etcdlock.internal.local;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * etcd's command line for one version. etcd 3.6 renamed most {@code --experimental-*} flags (and turned some into
 * {@code --feature-gates}), 3.7 removed the old names, and 3.4 knows only the old ones; 3.4 also logs in its old
 * format unless told {@code --logger=zap}. Callers write a flag either way and get the spelling the binary knows.
 */
public final class EtcdFlags {
    /** Flags that 3.6 took out of {@code --experimental-} under the same name and meaning. */
    private static final Set<String> RENAMED = Set.of("watch-progress-notify-interval", "warning-apply-duration",
            "warning-unary-request-duration", "snapshot-catchup-entries", "max-learners", "compaction-batch-limit",
            "compaction-sleep-interval", "corrupt-check-time", "compact-hash-check-time", "downgrade-check-time",
            "memory-mlock", "bootstrap-defrag-threshold-megabytes");
    /** 3.5 boolean flag (without {@code --experimental-}) to the 3.6 feature gate that replaced it. */
    private static final Map<String, String> GATES = Map.of(
            "initial-corrupt-check", "InitialCorruptCheck",
            "compact-hash-check-enabled", "CompactHashCheck",
            "enable-lease-checkpoint", "LeaseCheckpoint",
            "enable-lease-checkpoint-persist", "LeaseCheckpointPersist",
            "txn-mode-write-with-shared-buffer", "TxnModeWriteWithSharedBuffer",
            "stop-grpc-service-on-defrag", "StopGRPCServiceOnDefrag");
    private static final Pattern VERSION = Pattern.compile("(\\d+)\\.(\\d+)");
    private static final Pattern FLAG = Pattern.compile("--(experimental-)?([a-z0-9-]+)(?:=(.*))?", Pattern.DOTALL);

    private final int major;
    private final int minor;

    private EtcdFlags(int major, int minor) {
        this.major = major;
        this.minor = minor;
    }

    /** For the version etcd reports, such as {@code 3.5.30} or {@code v3.6.5}. */
    public static EtcdFlags forVersion(String version) {
        Matcher m = VERSION.matcher(version);
        if (!m.find()) {
            throw new IllegalArgumentException("not an etcd version: " + version);
        }
        return new EtcdFlags(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)));
    }

    private boolean atLeast(int maj, int min) {
        return major > maj || (major == maj && minor >= min);
    }

    /** The logging flags: zap to stderr, which 3.5 and later do by default. */
    public List<String> logging() {
        return atLeast(3, 5) ? List.of() : List.of("--logger=zap", "--log-outputs=stderr");
    }

    /**
     * {@code flags} in this version's spelling: {@code --experimental-X[=v]} becomes {@code --X[=v]} or
     * {@code --feature-gates=G=v} from 3.6, and {@code --X} of a renamed flag becomes {@code --experimental-X}
     * before 3.6. Feature gates given for a version before 3.6 become their old boolean flags. Other flags pass
     * unchanged. A flag's value must be joined to it with {@code =} for it to be translated.
     */
    public List<String> translate(List<String> flags) {
        List<String> out = new ArrayList<>(flags.size());
        List<String> gates = new ArrayList<>();
        for (String flag : flags) {
            Matcher m = FLAG.matcher(flag);
            if (!m.matches()) {
                out.add(flag);
                continue;
            }
            boolean experimental = m.group(1) != null;
            String name = m.group(2);
            String value = m.group(3);
            if (atLeast(3, 6) && experimental && RENAMED.contains(name)) {
                out.add("--" + name + (value == null ? "" : "=" + value));
            } else if (atLeast(3, 6) && experimental && GATES.containsKey(name)) {
                gates.add(GATES.get(name) + "=" + (value == null ? "true" : value));
            } else if (!atLeast(3, 6) && !experimental && RENAMED.contains(name)) {
                out.add("--experimental-" + name + (value == null ? "" : "=" + value));
            } else if (atLeast(3, 6) && !experimental && name.equals("feature-gates") && value != null) {
                gates.addAll(List.of(value.split(","))); // one --feature-gates with the translated ones
            } else if (!atLeast(3, 6) && !experimental && name.equals("feature-gates") && value != null) {
                for (String gate : value.split(",")) {
                    String[] kv = gate.split("=", 2);
                    String old = GATES.entrySet().stream().filter(e -> e.getValue().equals(kv[0])).map(Map.Entry::getKey)
                            .findFirst().orElseThrow(() -> new IllegalArgumentException("etcd " + major + "." + minor
                                    + " has no equivalent of feature gate " + kv[0]));
                    out.add("--experimental-" + old + "=" + (kv.length > 1 ? kv[1] : "true"));
                }
            } else {
                out.add(flag);
            }
        }
        if (!gates.isEmpty()) {
            out.add("--feature-gates=" + String.join(",", gates));
        }
        return out;
    }
}
