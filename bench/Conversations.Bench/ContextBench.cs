using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Conversations.Context;
using Conversations.Grains;
using Conversations.Grains.Context;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;

namespace Conversations.Bench;

/// <summary>
/// Long conversations (220 turns) with facts planted early and asked about much later, run through
/// the real conversation grain against the simulated upstream, which records exactly what context it
/// received. For each strategy mix: the share of questions whose fact reached the upstream, tokens
/// sent per turn against full history, and the context-build time (p50, p99). Facts are stated as "my … is …", the one
/// pattern the simulated model's JSON mode extracts, so the extraction strategy has something to find.
/// </summary>
public static class ContextBench
{
    private const int Turns = 220;
    internal const string Model = "bench-sim";

    private static readonly (int Turn, string Fact, int AskedAt, string Question, string Answer)[] Facts =
    [
        (3, "My sister's name is Margot and she lives in Lyon.", 140, "What is my sister's name?", "Margot"),
        (25, "My home town is Tromsø, a small town in the far north.", 170, "Which town did I grow up in?", "Tromsø"),
        (60, "My favourite number is 7413, I use it everywhere.", 200, "What is my favourite number?", "7413"),
        (95, "My car is an old green Volvo estate from 1998.", 215, "What car do I drive?", "Volvo"),
    ];

    private static readonly string[] Topics =
    [
        "the history of tea", "how tides work", "sourdough starters", "the rules of cricket", "solar panels", "jazz in the 1950s",
        "how vaccines are tested", "composting at home", "the Roman road network", "chess openings", "bird migration", "volcanic soil",
        "the printing press", "container shipping", "glacier retreat", "origami", "the speed of sound", "honey bees", "desert plants", "lighthouses",
    ];

    private static readonly (string Name, ContextPolicy Policy)[] Strategies =
    [
        ("full history", new ContextPolicy(Truncation: false)),
        ("window (20 turns)", new ContextPolicy(WindowTurns: 20)),
        ("window + summary", new ContextPolicy(WindowTurns: 20, Summarizer: "summarizer", SummarizeAfterTokens: 400, SummaryTokens: 300)),
        ("window + recall", new ContextPolicy(WindowTurns: 20, RecallTopK: 3)),
        ("window + extraction", new ContextPolicy(WindowTurns: 20, Extractor: "extractor")),
        ("everything", new ContextPolicy(WindowTurns: 20, Summarizer: "summarizer", SummarizeAfterTokens: 400, SummaryTokens: 300, RecallTopK: 3, Extractor: "extractor")),
    ];

    public static async Task<(string Markdown, JsonArray Json)> Run(int upstreamPort)
    {
        await using var upstream = await BenchServers.StartUpstream(upstreamPort, 0);
        await using var cluster = await StartCluster(upstreamPort);
        var buildTimes = new List<double>();
        using var listener = ListenToBuildTimes(buildTimes);

        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{upstreamPort}") };
        var rows = new List<Row>();
        foreach (var (name, policy) in Strategies)
        {
            lock (buildTimes)
            {
                buildTimes.Clear();
            }

            rows.Add(await RunConversation(cluster.Client, http, name, policy, buildTimes));
        }

        return (Report(rows), new JsonArray([.. rows.Select(r => (JsonNode)JsonSerializer.SerializeToNode(r, JsonOutput.Options)!)]));
    }

    /// <summary>One silo with the real grains: <see cref="Model"/> routed to the upstream over HTTP, and simulated summarizer and extractor routes.</summary>
    internal static async Task<InProcessTestCluster> StartCluster(int upstreamPort, bool cacheIndexedEmbeddings = false)
    {
        var builder = new InProcessTestClusterBuilder(1);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            [$"Conversations:Routes:{Model}:Deployments:0:Name"] = "upstream",
            [$"Conversations:Routes:{Model}:Deployments:0:BaseUrl"] = $"http://127.0.0.1:{upstreamPort}/v1",
            ["Conversations:Routes:summarizer:Deployments:0:Name"] = "simulated-summarizer",
            ["Conversations:Routes:summarizer:Deployments:0:Provider"] = "Simulated",
            ["Conversations:Routes:extractor:Deployments:0:Name"] = "simulated-extractor",
            ["Conversations:Routes:extractor:Deployments:0:Provider"] = "Simulated",
        }).Build();
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddMemoryGrainStorage(StorageNames.Conversations);
            silo.Services.AddConversationGrainServices(configuration);
            if (cacheIndexedEmbeddings)
            {
                silo.Services.AddSingleton<Conversations.Embeddings.LocalEmbeddingGenerator>();
                silo.Services.AddSingleton<IEmbeddingGenerator<string, Embedding<float>>>(sp => new IndexingEmbeddingCache(sp.GetRequiredService<Conversations.Embeddings.LocalEmbeddingGenerator>()));
            }
        });
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
    }

    /// <summary>Collects every context build's time (ms) into <paramref name="buildTimes"/>, under its lock.</summary>
    internal static MeterListener ListenToBuildTimes(List<double> buildTimes)
    {
        var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Name == ContextMetrics.BuildTime)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<double>((_, value, _, _) =>
        {
            lock (buildTimes)
            {
                buildTimes.Add(value);
            }
        });
        listener.Start();
        return listener;
    }

    private static async Task<Row> RunConversation(IGrainFactory grains, HttpClient upstream, string name, ContextPolicy policy, List<double> buildTimes)
    {
        var conversation = grains.GetGrain<IConversationGrain>(GrainKeys.For("bench", Ids.New(Ids.Conversation)));
        await conversation.Create(new Dictionary<string, string>(), [], policy);
        long promptTokens = 0;
        var reached = 0;
        for (var turn = 0; turn < Turns; turn++)
        {
            var planted = Facts.FirstOrDefault(f => f.Turn == turn);
            var asked = Facts.FirstOrDefault(f => f.AskedAt == turn);
            var text = planted.Fact ?? asked.Question ?? $"Tell me one thing about {Topics[turn % Topics.Length]} (note {turn}).";
            var result = await Turn(conversation, text);
            promptTokens += result.Usage.InputTokens;
            if (asked.Answer is { } answer)
            {
                var received = JsonNode.Parse(await upstream.GetStringAsync(new Uri("/sim/requests?last=1", UriKind.Relative)))!.AsArray()[^1]!["messages"]!.AsArray()
                    .Select(m => m!["content"]!.GetValue<string>());
                reached += received.Any(content => content.Contains(answer, StringComparison.Ordinal)) ? 1 : 0;
            }
        }

        double[] times;
        lock (buildTimes)
        {
            times = [.. buildTimes.Order()];
        }

        return new Row(name, reached, Facts.Length, promptTokens / (double)Turns, Percentile(times, 0.5), Percentile(times, 0.99));
    }

    internal static async Task<CompletionResult> Turn(IConversationGrain conversation, string text)
    {
        var input = new ConversationItem(Ids.New(Ids.Message), Roles.User, text, 0, DateTimeOffset.UtcNow);
        var request = new TurnRequest(Ids.New(Ids.Response), Ids.New(Ids.Message), [input], null,
            new CompletionRequest(Model, [], MaxOutputTokens: 60, StreamDeltas: false));
        await foreach (var chunk in conversation.RunTurn(request))
        {
            if (chunk is FinalChunk { Result: var final })
            {
                return final;
            }

            if (chunk is ErrorChunk { Error: var error })
            {
                throw new InvalidOperationException($"Turn failed: {error.Message}");
            }
        }

        throw new InvalidOperationException("The turn ended without a result.");
    }

    internal static double Percentile(double[] sorted, double p) => sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)(p * sorted.Length))];

    private static string Report(List<Row> rows)
    {
        var full = rows[0].PromptTokensPerTurn;
        var markdown = new StringBuilder();
        markdown.AppendLine(CultureInfo.InvariantCulture, $"# Context strategies on long conversations ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores)");
        markdown.AppendLine();
        markdown.AppendLine(CultureInfo.InvariantCulture, $"{Turns} turns each; {Facts.Length} facts planted at turns {string.Join(", ", Facts.Select(f => f.Turn))} and asked about at turns {string.Join(", ", Facts.Select(f => f.AskedAt))}.");
        markdown.AppendLine("A fact counts as reached when its answer is in the context the simulated upstream received for the question.");
        markdown.AppendLine();
        markdown.AppendLine("| strategy | facts reached | prompt tokens per turn | vs full history | context build p50 ms | p99 ms |");
        markdown.AppendLine("|---|---:|---:|---:|---:|---:|");
        foreach (var r in rows)
        {
            markdown.AppendLine(CultureInfo.InvariantCulture,
                $"| {r.Strategy} | {r.Reached}/{r.Questions} | {r.PromptTokensPerTurn:N0} | {r.PromptTokensPerTurn / full:0.00} | {r.BuildP50Ms:0.000} | {r.BuildP99Ms:0.000} |");
        }

        markdown.AppendLine();
        markdown.AppendLine("Summaries here are written by the simulated model, which echoes the first 100 words of what it is given: the summary");
        markdown.AppendLine("rows measure the mechanism (a summary written in the background, its tokens in place of the turns it covers), not summary");
        markdown.AppendLine("quality; an echo keeps the start of the transcript, not its facts. Run them with a real summarizer route for quality figures.");
        markdown.AppendLine("Facts here are extracted by the simulated model's pattern extractor (its JSON mode finds \"my … is …\" statements, and the");
        markdown.AppendLine("planted facts are phrased that way), not by a real LLM: the extraction rows show the mechanism (facts extracted in the");
        markdown.AppendLine("background reach later turns in the state section, at its token cost), not extraction quality.");
        markdown.AppendLine("Recall uses the local all-MiniLM-L6-v2 model; its first use loads the model (about 1.5 s), which lands in that strategy's p99.");
        return markdown.ToString();
    }

    private sealed record Row(string Strategy, int Reached, int Questions, double PromptTokensPerTurn, double BuildP50Ms, double BuildP99Ms);
}
