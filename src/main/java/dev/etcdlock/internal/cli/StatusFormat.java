package dev.etcdlock.internal.cli;

import com.google.protobuf.ByteString;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.StringJoiner;

/**
 * How {@code status} prints a {@link StatusReader.Snapshot}: a table for people, one line per change for logs, JSON
 * for scripts. {@code heldFor} holds the durations the command measured itself (under {@code --watch}) by hold (key
 * and create revision); nothing else has a duration, as etcd records no times.
 */
final class StatusFormat {
    private static final int VALUE_WIDTH = 24;

    private StatusFormat() {
    }

    static String table(StatusReader.Snapshot s, Map<QueueView.Hold, String> heldFor) {
        QueueView view = s.view();
        StringBuilder out = new StringBuilder();
        out.append(view.name()).append(": ").append(summary(view)).append(" (read at revision ")
                .append(s.revision()).append(view.free() ? "" : "; layout " + view.decidedBy()).append(")\n");
        if (view.free()) {
            return out.toString();
        }
        List<String[]> rows = new ArrayList<>();
        boolean values = view.entries().stream().anyMatch(e -> !e.kv().getValue().isEmpty());
        rows.add(values
                ? new String[] {"POS", "ROLE", "KEY", "LEASE", "TTL", "TOKEN", "HOLDS SINCE / WAITS FOR", "VALUE"}
                : new String[] {"POS", "ROLE", "KEY", "LEASE", "TTL", "TOKEN", "HOLDS SINCE / WAITS FOR"});
        for (QueueView.Entry e : view.entries()) {
            String[] row = {
                e.holder() ? "-" : Integer.toString(e.position()),
                role(view, e),
                e.key(),
                e.kv().getLease() == 0 ? "none" : e.leaseHex(),
                e.kv().getLease() == 0 ? "-" : ttl(s.ttl(e.kv().getLease())),
                Long.toString(e.token()),
                e.holder() ? since(s, e, heldFor) : e.waitsFor(),
                printable(e.kv().getValue())};
            rows.add(values ? row : java.util.Arrays.copyOf(row, 7));
        }
        int[] widths = new int[rows.get(0).length];
        for (String[] row : rows) {
            for (int i = 0; i < row.length; i++) {
                widths[i] = Math.max(widths[i], row[i].length());
            }
        }
        for (String[] row : rows) {
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < row.length; i++) {
                line.append(i == row.length - 1 ? row[i] : pad(row[i], widths[i] + 2));
            }
            out.append(line.toString().stripTrailing()).append('\n');
        }
        return out.toString();
    }

    /** One line: the state, and what changed since {@code before} (null for the first line). */
    static String line(StatusReader.Snapshot before, StatusReader.Snapshot now, Map<QueueView.Hold, String> heldFor) {
        StringBuilder out = new StringBuilder("rev ").append(now.revision()).append(": ");
        if (before != null) {
            String change = change(before.view(), now.view(), heldFor);
            out.append(change.isEmpty() ? "no change in holders or waiters" : change).append(" | ");
        }
        QueueView view = now.view();
        if (view.free()) {
            return out.append("free").toString();
        }
        StringJoiner holders = new StringJoiner(", ");
        for (QueueView.Entry e : view.holders()) {
            holders.add(e.key() + " (token " + e.token() + ", ttl " + ttl(now.ttl(e.kv().getLease())) + ")");
        }
        StringJoiner waiters = new StringJoiner(", ");
        for (QueueView.Entry e : view.waiters()) {
            waiters.add(e.key());
        }
        out.append("held by ").append(holders);
        out.append("; ").append(view.waiters().size()).append(" waiting");
        if (!view.waiters().isEmpty()) {
            out.append(": ").append(waiters);
        }
        return out.toString();
    }

    /**
     * Holders that left or came, waiters that joined or left; empty when neither. Keys are told apart by name and
     * create revision: a session that unlocks and locks again keeps its key name but holds anew, with a new token.
     */
    static String change(QueueView before, QueueView now, Map<QueueView.Hold, String> heldFor) {
        List<String> parts = new ArrayList<>();
        List<QueueView.Hold> nowKeys = now.entries().stream().map(QueueView.Entry::hold).toList();
        List<QueueView.Hold> nowHolders = now.holders().stream().map(QueueView.Entry::hold).toList();
        List<QueueView.Hold> beforeKeys = before.entries().stream().map(QueueView.Entry::hold).toList();
        List<QueueView.Hold> beforeHolders = before.holders().stream().map(QueueView.Entry::hold).toList();
        for (QueueView.Entry e : before.holders()) {
            if (!nowKeys.contains(e.hold())) {
                String held = heldFor.get(e.hold());
                parts.add("holder " + e.key() + " left" + (held == null ? "" : " after holding " + held));
            }
        }
        for (QueueView.Entry e : before.waiters()) {
            if (!nowKeys.contains(e.hold())) {
                parts.add("waiter " + e.key() + " left");
            }
        }
        for (QueueView.Entry e : now.holders()) {
            if (!beforeHolders.contains(e.hold())) {
                parts.add(e.key() + " holds (token " + e.token() + ")");
            }
        }
        for (QueueView.Entry e : now.waiters()) {
            if (!beforeKeys.contains(e.hold())) {
                parts.add("waiter " + e.key() + " joined at " + e.position());
            }
        }
        if (parts.isEmpty() && !nowHolders.equals(beforeHolders)) {
            parts.add("holders now " + now.holders().stream().map(QueueView.Entry::key).toList());
        }
        return String.join("; ", parts);
    }

    static String json(StatusReader.Snapshot s, Map<QueueView.Hold, String> heldFor) {
        QueueView view = s.view();
        StringBuilder out = new StringBuilder("{\"name\":").append(quote(view.name()))
                .append(",\"revision\":").append(s.revision())
                .append(",\"layout\":").append(quote(view.layout().name().toLowerCase(java.util.Locale.ROOT)))
                .append(",\"permits\":").append(view.permits())
                .append(",\"layoutFrom\":").append(quote(view.decidedBy()))
                .append(",\"state\":").append(quote(view.free() ? "free" : "held"))
                .append(",\"keys\":[");
        StringJoiner keys = new StringJoiner(",");
        for (QueueView.Entry e : view.entries()) {
            StringBuilder k = new StringBuilder("{\"key\":").append(quote(e.key()))
                    .append(",\"role\":").append(quote(e.holder() ? "holder" : "waiter"))
                    .append(",\"position\":").append(e.position())
                    .append(",\"lease\":").append(quote(e.leaseHex()))
                    .append(",\"ttl\":").append(e.kv().getLease() == 0 ? "null" : s.ttl(e.kv().getLease()))
                    .append(",\"token\":").append(e.token())
                    .append(",\"value\":").append(quote(e.kv().getValue().toStringUtf8()));
            if (e.holder()) {
                StatusReader.Since since = s.since().get(e.kv().getKey());
                k.append(",\"heldSinceRevision\":").append(since == null ? "null" : since.revision())
                        .append(",\"heldSinceExact\":").append(since != null && since.exact());
                String held = heldFor.get(e.hold());
                k.append(",\"heldFor\":").append(held == null ? "null" : quote(held));
            } else {
                StringJoiner blockers = new StringJoiner(",", "[", "]");
                e.blockers().forEach(b -> blockers.add(quote(b.toStringUtf8())));
                k.append(",\"waitsFor\":").append(quote(e.waitsFor())).append(",\"blockers\":").append(blockers);
            }
            keys.add(k.append('}'));
        }
        return out.append(keys).append("]}").toString();
    }

    private static String summary(QueueView view) {
        if (view.free()) {
            return "free (no keys under " + view.name() + "/)";
        }
        int holders = view.holders().size();
        return "held" + (holders > 1 ? " by " + holders : "") + ", " + view.waiters().size() + " waiting; "
                + view.layoutLabel() + " layout";
    }

    private static String role(QueueView view, QueueView.Entry e) {
        String role = e.holder() ? "holder" : "waiter";
        return view.layout() == QueueView.Layout.READ_WRITE ? role + (e.reader(view.name()) ? " (read)" : " (write)")
                : role;
    }

    private static String since(StatusReader.Snapshot s, QueueView.Entry e, Map<QueueView.Hold, String> heldFor) {
        StatusReader.Since since = s.since().get(e.kv().getKey());
        String held = heldFor.get(e.hold());
        String text = since == null ? "(not searched)"
                : since.revision() == e.token() ? "rev " + since.revision() + " (at once)"
                : since.exact() ? "rev " + since.revision()
                : "rev <= " + since.revision() + " (history compacted)";
        return held == null ? text : text + ", for " + held;
    }

    private static String ttl(long seconds) {
        return seconds < 0 ? "gone" : seconds + "s";
    }

    private static String pad(String s, int width) {
        return s.length() >= width ? s : s + " ".repeat(width - s.length());
    }

    private static String printable(ByteString value) {
        String s = value.toStringUtf8();
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < s.length() && out.length() < VALUE_WIDTH; i++) {
            char c = s.charAt(i);
            out.append(Character.isISOControl(c) ? '?' : c);
        }
        return s.length() > out.length() ? out + "..." : out.toString();
    }

    static String quote(String s) {
        StringBuilder out = new StringBuilder("\"");
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        return out.append('"').toString();
    }
}
