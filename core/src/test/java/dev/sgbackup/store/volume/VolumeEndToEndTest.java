package dev.sgbackup.store.volume;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sgbackup.run.IntegrityException;
import dev.sgbackup.SgBackup;
import dev.sgbackup.manifest.Manifest;
import dev.sgbackup.run.RunResult;
import dev.sgbackup.sink.Sinks;
import dev.sgbackup.store.ArtifactInfo;
import dev.sgbackup.store.RestoreOptions;
import dev.sgbackup.Stores;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Through the real engine, transforms and local sink. */
class VolumeEndToEndTest {
    @TempDir
    Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"zstd", "gzip:1", "none"})
    void backUpVerifyAndRestoreAnAwkwardTree(String compression) throws IOException {
        Path src = VolumeRoundTripTest.awkwardTree(tmp.resolve("src"));
        SgBackup sg = SgBackup.builder().sink(Sinks.local(tmp.resolve("sink"))).compression(compression).build();
        RunResult r = sg.backup(Stores.directory("repos", src));
        assertThat(r.committed()).isTrue();
        assertThat(sg.verify(r.backupId()).ok()).isTrue();
        Manifest m = sg.show(r.backupId());
        assertThat(m.requireStore("repos").properties()).containsEntry("hardlinks", "2").containsKey("bytes");

        Path dst = tmp.resolve("new-instance/repos");
        sg.restore(r.backupId(), RestoreOptions.defaults(), Stores.directory("repos", dst));
        assertThat(Trees.snapshot(dst)).isEqualTo(Trees.snapshot(src));
    }

    @Test
    void skippedSocketsAreWarningsInTheManifest() throws IOException {
        Path src = Files.createDirectories(tmp.resolve("src"));
        Files.writeString(src.resolve("f"), "f");
        try (ServerSocketChannel socket = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            socket.bind(UnixDomainSocketAddress.of(src.resolve("app.sock")));
            SgBackup sg = SgBackup.to(Sinks.local(tmp.resolve("sink")));
            RunResult r = sg.backup(Stores.directory("vol", src));
            assertThat(r.warnings()).anySatisfy(w -> assertThat(w).contains("skipped socket app.sock"));
            assertThat(sg.show(r.backupId()).requireStore("vol").warnings())
                    .anySatisfy(w -> assertThat(w).contains("app.sock"));
        }
    }

    @Test
    void aFlippedByteInTheSinkIsRefusedAndTheReplacedTargetIsUntouched() throws IOException {
        Path src = VolumeRoundTripTest.awkwardTree(tmp.resolve("src"));
        Path sinkDir = tmp.resolve("sink");
        SgBackup sg = SgBackup.to(Sinks.local(sinkDir));
        RunResult r = sg.backup(Stores.directory("repos", src));
        ArtifactInfo tar = sg.show(r.backupId()).requireStore("repos").artifacts().get(0);
        Path stored = sinkDir.resolve(tar.key());
        byte[] bytes = Files.readAllBytes(stored);
        bytes[bytes.length / 2] ^= 1;
        Files.write(stored, bytes);

        Path target = VolumeRoundTripTest.awkwardTree(tmp.resolve("target"));
        Files.writeString(target.resolve("only-in-target"), "precious");
        Map<String, String> before = Trees.snapshot(target);
        assertThat(sg.verify(r.backupId()).ok()).isFalse();
        assertThatThrownBy(() -> sg.restore(r.backupId(), new RestoreOptions(true, false),
                Stores.directory("repos", target))).isInstanceOf(IntegrityException.class);
        assertThat(Trees.snapshot(target)).isEqualTo(before);
    }
}
