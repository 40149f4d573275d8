using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using Conversations.Guardrails;

namespace Conversations.Grains.Guardrails;

/// <summary>
/// The kinds of PII one call looks for: built-in kinds and the tenant's patterns, compiled once per pattern text and
/// kept. Patterns run with <see cref="RegexOptions.NonBacktracking"/>, so no tenant pattern can make a scan take
/// more than linear time.
/// </summary>
public sealed class PiiSelection
{
    private const int MaxCachedPatterns = 1024;
    private static readonly ConcurrentDictionary<string, Regex> Compiled = new(StringComparer.Ordinal);

    private readonly HashSet<string> _kinds;

    private PiiSelection(HashSet<string> kinds, IReadOnlyList<(string Name, Regex Pattern)> custom)
    {
        _kinds = kinds;
        Custom = custom;
    }

    public static PiiSelection All { get; } = new([.. PiiKinds.All], []);

    public IReadOnlyList<(string Name, Regex Pattern)> Custom { get; }

    public bool Has(string kind) => _kinds.Contains(kind);

    /// <summary>The policy's entities (all built-in kinds when it names none) and patterns.</summary>
    public static PiiSelection For(PiiPolicy? policy) => policy is null ? All : new(
        policy.Entities.Count == 0 ? [.. PiiKinds.All] : [.. policy.Entities],
        [.. (policy.Patterns ?? []).Select(p => (p.Name, Compile(p.Pattern)))]);

    /// <summary>A tenant pattern, compiled; throws <see cref="ArgumentException"/> or <see cref="NotSupportedException"/> for one that cannot run.</summary>
    public static Regex Compile(string pattern)
    {
        if (Compiled.TryGetValue(pattern, out var regex))
        {
            return regex;
        }

        regex = new Regex(pattern, RegexOptions.NonBacktracking | RegexOptions.CultureInvariant);
        if (Compiled.Count >= MaxCachedPatterns)
        {
            Compiled.Clear();
        }

        return Compiled.GetOrAdd(pattern, regex);
    }
}
