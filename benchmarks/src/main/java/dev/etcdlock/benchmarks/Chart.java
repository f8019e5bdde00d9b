package dev.etcdlock.benchmarks;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Draws {@code contended.svg} from a JMH JSON result file: acquisitions per second by number of contenders, etcd-lock
 * next to jetcd, with the delete ping-pong floor (the best a handoff through etcd can do) as a line. Log scale, as
 * the two libraries are orders of magnitude apart.
 * {@code java -cp benchmarks.jar dev.etcdlock.benchmarks.Chart results/latest.json results/contended.svg ["machine"]}
 */
public final class Chart {
    private static final String[] CONTENDERS = {"2", "8", "32"};
    private static final String OURS = "#2563eb";
    private static final String JETCD = "#ea580c";
    private static final String FLOOR = "#374151";

    public static void main(String[] args) throws IOException {
        write(Path.of(args.length > 0 ? args[0] : "results/latest.json"),
                Path.of(args.length > 1 ? args[1] : "results/contended.svg"), args.length > 2 ? args[2] : "");
    }

    static void write(Path json, Path svg) throws IOException {
        write(json, svg, "");
    }

    static void write(Path json, Path svg, String machine) throws IOException {
        Results res = Results.load(json);
        double[] ours = new double[CONTENDERS.length];
        double[] jetcd = new double[CONTENDERS.length];
        double max = 1;
        for (int i = 0; i < CONTENDERS.length; i++) {
            ours[i] = rate(res.find("contended", "thrpt", "impl", "etcdlock", "contenders", CONTENDERS[i]));
            jetcd[i] = rate(res.find("contended", "thrpt", "impl", "jetcd", "contenders", CONTENDERS[i]));
            max = Math.max(max, Math.max(nz(ours[i]), nz(jetcd[i])));
        }
        double floor = rate(res.find("floorHandoff", "thrpt"));
        max = Math.max(max, nz(floor));
        if (max <= 1) {
            throw new IllegalStateException("no contended results in " + json);
        }

        int width = 760;
        int height = 460;
        int left = 80;
        int right = 30;
        int top = 90;
        int bottom = 70;
        int plotW = width - left - right;
        int plotH = height - top - bottom;
        int minExp = 0;
        int maxExp = (int) Math.ceil(Math.log10(max * 1.5));
        StringBuilder s = new StringBuilder();
        s.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                + "viewBox=\"0 0 %d %d\" font-family=\"Helvetica, Arial, sans-serif\">%n", width, height, width, height));
        s.append(String.format(Locale.ROOT, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>%n", width, height));
        s.append(text(width / 2.0, 28, "contended: lock acquisitions per second, all contenders on one name",
                "middle", 17, "bold", "#111827"));
        s.append(text(width / 2.0, 48, "each contender its own client and session, looping lock → unlock; log scale",
                "middle", 12, "normal", "#4b5563"));
        s.append(text(width / 2.0, 64, "one run (" + json.getFileName() + ")"
                + (machine.isEmpty() ? "" : ": " + machine), "middle", 10, "normal", "#6b7280"));

        // grid and y axis
        for (int e = minExp; e <= maxExp; e++) {
            double y = y(Math.pow(10, e), minExp, maxExp, top, plotH);
            s.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#e5e7eb\"/>%n",
                    left, y, left + plotW, y));
            s.append(text(left - 8, y + 4, Report.num(Math.pow(10, e)), "end", 12, "normal", "#374151"));
        }
        s.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#9ca3af\"/>%n",
                left, top + plotH, left + plotW, top + plotH));
        s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%.1f\" transform=\"rotate(-90 %d %.1f)\" "
                + "text-anchor=\"middle\" font-size=\"12\" fill=\"#374151\">acquisitions/s</text>%n",
                20, top + plotH / 2.0, 20, top + plotH / 2.0));

        // floor line
        if (!Double.isNaN(floor)) {
            double fy = y(floor, minExp, maxExp, top, plotH);
            s.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"%s\" "
                    + "stroke-width=\"2\" stroke-dasharray=\"6 4\"/>%n", left, fy, left + plotW, fy, FLOOR));
            s.append(text(left + plotW - 4, fy - 6, "floor: raw delete ping-pong " + Report.num(floor) + " hops/s",
                    "end", 12, "normal", FLOOR));
        }

        // bars
        double groupW = (double) plotW / CONTENDERS.length;
        double barW = groupW / 4;
        for (int i = 0; i < CONTENDERS.length; i++) {
            double gx = left + i * groupW;
            bar(s, gx + groupW / 2 - barW - 3, barW, ours[i], OURS, minExp, maxExp, top, plotH);
            bar(s, gx + groupW / 2 + 3, barW, jetcd[i], JETCD, minExp, maxExp, top, plotH);
            s.append(text(gx + groupW / 2, top + plotH + 20, CONTENDERS[i] + " contenders", "middle", 13, "normal",
                    "#111827"));
        }

        // legend
        int ly = height - 22;
        legend(s, left, ly, OURS, "etcd-lock (ours)");
        legend(s, left + 170, ly, JETCD, "jetcd 0.8.5 Lock client");
        s.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" "
                + "stroke-width=\"2\" stroke-dasharray=\"6 4\"/>%n", left + 380, ly - 4, left + 404, ly - 4, FLOOR));
        s.append(text(left + 410, ly, "floor (raw gRPC, same etcd)", "start", 12, "normal", "#111827"));
        s.append("</svg>\n");
        if (svg.getParent() != null) {
            Files.createDirectories(svg.getParent());
        }
        Files.writeString(svg, s.toString(), StandardCharsets.UTF_8);
    }

    private static double rate(Results.Entry e) {
        return e == null ? Double.NaN : e.perSecond();
    }

    private static double nz(double v) {
        return Double.isNaN(v) ? 0 : v;
    }

    private static double y(double value, int minExp, int maxExp, int top, int plotH) {
        double v = Math.max(value, Math.pow(10, minExp));
        double f = (Math.log10(v) - minExp) / (maxExp - minExp);
        return top + plotH * (1 - f);
    }

    private static void bar(StringBuilder s, double x, double w, double value, String color, int minExp,
            int maxExp, int top, int plotH) {
        if (Double.isNaN(value)) {
            s.append(text(x + w / 2, top + plotH - 6, "n/a", "middle", 11, "normal", "#6b7280"));
            return;
        }
        double y = y(value, minExp, maxExp, top, plotH);
        s.append(String.format(Locale.ROOT, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>%n",
                x, y, w, top + plotH - y, color));
        // a white halo keeps the label readable where it crosses the floor line
        s.append(text(x + w / 2, y - 5, Report.num(value), "middle", 12, "bold", color)
                .replace("<text ", "<text paint-order=\"stroke\" stroke=\"white\" stroke-width=\"4\" "));
    }

    private static void legend(StringBuilder s, int x, int y, String color, String label) {
        s.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"14\" height=\"14\" fill=\"%s\"/>%n",
                x, y - 11, color));
        s.append(text(x + 20, y, label, "start", 12, "normal", "#111827"));
    }

    private static String text(double x, double y, String text, String anchor, int size, String weight,
            String color) {
        return String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" font-size=\"%d\" "
                + "font-weight=\"%s\" fill=\"%s\">%s</text>%n", x, y, anchor, size, weight, color,
                text.replace("&", "&amp;").replace("<", "&lt;"));
    }

    private Chart() {
    }
}
