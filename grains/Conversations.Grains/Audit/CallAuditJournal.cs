using System.Buffers.Binary;
using Conversations.Audit;
using Orleans.Serialization;

namespace Conversations.Grains.Audit;

/// <summary>
/// A silo's local, append-only journal of the call records not yet in the audit grains (decision 0045). A record is
/// written to the open segment before the answer's end is sent; each flush seals the segment and opens the next, and a
/// sealed segment is deleted once all its records are in the audit grains. Segments left by a process that died are read
/// back when the next process starts on the same directory. Frames are a 4-byte length and the record in Orleans'
/// binary serialization (version tolerant, as grain state is); a torn last frame (power lost mid-write) is skipped.
/// One process holds a directory at a time (a lock file). With no directory configured the journal keeps nothing.
/// </summary>
public sealed class CallAuditJournal : IDisposable
{
    private const string Extension = ".segment";
    private readonly Serializer _serializer;
    private readonly string? _directory;
    private readonly bool _flushToDisk;
    private FileStream? _lock;
    private FileStream? _open;

    public CallAuditJournal(Serializer serializer, string? directory, bool flushToDisk)
    {
        (_serializer, _directory, _flushToDisk) = (serializer, directory, flushToDisk);
    }

    /// <summary>The name of the segment records are written to now.</summary>
    public string Current { get; private set; } = NewName();

    public bool Enabled => _directory is not null;

    /// <summary>Takes the directory (throws when another process holds it) and returns the segments a previous process left, oldest first.</summary>
    public IReadOnlyList<(string Segment, IReadOnlyList<AuditRecord> Records)> Open()
    {
        if (_directory is null)
        {
            return [];
        }

        Directory.CreateDirectory(_directory);
        _lock = new FileStream(Path.Combine(_directory, "journal.lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        var left = Directory.GetFiles(_directory, "*" + Extension).Order(StringComparer.Ordinal)
            .Select(file => (Path.GetFileNameWithoutExtension(file), (IReadOnlyList<AuditRecord>)Read(file))).ToList();
        _open = Create(Current);
        return left;
    }

    /// <summary>Writes the record to the open segment: in the operating system's hands when this returns (on the disk too with flush-to-disk).</summary>
    public void Append(AuditRecord record)
    {
        if (_open is null)
        {
            return;
        }

        var payload = _serializer.SerializeToArray(record);
        var frame = new byte[payload.Length + 4];
        BinaryPrimitives.WriteInt32LittleEndian(frame, payload.Length);
        payload.CopyTo(frame, 4);
        _open.Write(frame);
        _open.Flush(_flushToDisk);
    }

    /// <summary>Closes the open segment and opens the next; the closed one's name.</summary>
    public string Seal()
    {
        var sealedName = Current;
        Current = NewName();
        if (_open is not null)
        {
            _open.Dispose();
            _open = Create(Current);
        }

        return sealedName;
    }

    /// <summary>Removes a sealed segment whose records are all in the audit grains.</summary>
    public void Delete(string segment)
    {
        if (_directory is not null)
        {
            File.Delete(Path.Combine(_directory, segment + Extension));
        }
    }

    public void Dispose()
    {
        _open?.Dispose();
        _lock?.Dispose();
    }

    // Sortable by time of creation, unique within the directory.
    private static string NewName() => $"{DateTime.UtcNow.Ticks:D19}-{Guid.NewGuid():N}";

    private FileStream Create(string segment) =>
        new(Path.Combine(_directory!, segment + Extension), FileMode.CreateNew, FileAccess.Write, FileShare.Read, 4096, FileOptions.None);

    private List<AuditRecord> Read(string file)
    {
        var bytes = File.ReadAllBytes(file);
        var records = new List<AuditRecord>();
        for (var at = 0; at + 4 <= bytes.Length;)
        {
            var length = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(at));
            if (length <= 0 || at + 4 + length > bytes.Length)
            {
                break; // a torn last frame: the machine stopped mid-write
            }

            records.Add(_serializer.Deserialize<AuditRecord>(bytes.AsSpan(at + 4, length).ToArray())!);
            at += 4 + length;
        }

        return records;
    }
}
