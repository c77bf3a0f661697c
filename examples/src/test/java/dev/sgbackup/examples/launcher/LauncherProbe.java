package dev.sgbackup.examples.launcher;

import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Stands in for the CLI's main class in {@link LauncherTest}: prints its arguments (one per line, bracketed), its
 * collectors, its maximum heap, its C2 inlining limits and its class-data sharing flags on stdout, a marker on stderr, and exits with the status its first argument names.
 */
public final class LauncherProbe {
    private LauncherProbe() {
    }

    public static void main(String[] args) {
        for (String a : args) {
            System.out.println("arg [" + a + "]");
        }
        List<GarbageCollectorMXBean> gcs = ManagementFactory.getGarbageCollectorMXBeans();
        System.out.println("gc " + gcs.stream().map(GarbageCollectorMXBean::getName).collect(Collectors.joining(",")));
        System.out.println("maxHeap " + Runtime.getRuntime().maxMemory());
        var hotspot = ManagementFactory.getPlatformMXBean(com.sun.management.HotSpotDiagnosticMXBean.class);
        for (String option : List.of("FreqInlineSize", "InlineSmallCode")) {
            System.out.println("vm " + option + "=" + hotspot.getVMOption(option).getValue());
        }
        for (String flag : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (flag.contains("Archive")) {
                System.out.println("jvm " + flag);
            }
        }
        System.err.println("probe stderr");
        System.exit(args.length > 0 && args[0].matches("exit=\\d+") ? Integer.parseInt(args[0].substring(5)) : 0);
    }
}
