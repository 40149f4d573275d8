namespace Conversations.Audit;

/// <summary>How audit records are written and kept, bound from <c>Conversations:Audit</c> (decisions 0050, 0051).</summary>
public sealed class AuditOptions
{
    public const string Section = "Conversations:Audit";

    /// <summary>How long records are kept when a tenant sets no <c>audit_retention_days</c> of its own.</summary>
    public int RetentionDays { get; init; } = 90;

    /// <summary>The longest retention a tenant may set.</summary>
    public int MaxRetentionDays { get; init; } = 3650;

    /// <summary>How long a silo gathers call records before it writes them (one batch per tenant and day).</summary>
    public TimeSpan FlushInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Call records a silo holds unwritten at most; past it new records are dropped, counted and logged.</summary>
    public int MaxPendingCalls { get; init; } = 100_000;

    /// <summary>
    /// Where a silo journals call records before their answer ends (decision 0045), relative to the content root; each silo
    /// uses the folder of its silo port under it, and the next process on that port writes what a crashed one left. Null: no
    /// journal (a crash loses up to one flush interval's records).
    /// </summary>
    public string? JournalPath { get; init; }

    /// <summary>Also flush each journal write to the disk (fsync), so a record outlives the machine's power, not only the process.</summary>
    public bool JournalFlushToDisk { get; init; }
}
