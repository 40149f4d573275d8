using System.Diagnostics;
using System.Text;
using Conversations.Providers;
using Conversations.Routing;
using Microsoft.Extensions.AI;

namespace Conversations.Grains.Routing;

/// <summary>A stream past its first token: what has been seen so far, and the attempt's span and timer, which live as long as it.</summary>
internal sealed class OpenStream(RouteDeployment deployment, Activity? activity, long started, CancellationTokenSource timer, OutputCap cap) : IAsyncDisposable
{
    public RouteDeployment Deployment => deployment;

    public OutputCap Cap => cap;

    public Activity? Activity => activity;

    public long Started => started;

    public IAsyncEnumerator<ChatResponseUpdate> Updates { get; private set; } = null!;

    public string FirstText { get; private set; } = string.Empty;

    public TimeSpan FirstTokenAfter { get; private set; }

    public StringBuilder Text { get; } = new();

    public IReadOnlyList<TokenLogprob>? FirstLogprobs { get; private set; }

    /// <summary>The log probabilities of <see cref="Text"/>'s tokens, when the provider gives them.</summary>
    public List<TokenLogprob>? Logprobs { get; private set; }

    public ChatFinishReason? FinishReason { get; private set; }

    public UsageDetails? Usage { get; private set; }

    /// <summary>The function calls the model made (providers hand them over whole, once their arguments are complete).</summary>
    public List<FunctionCall> Calls { get; } = [];

    public void Observe(ChatResponseUpdate update)
    {
        FinishReason = update.FinishReason ?? FinishReason;
        foreach (var content in update.Contents)
        {
            if (content is UsageContent usage)
            {
                Usage = usage.Details;
            }
            else if (content is FunctionCallContent call)
            {
                Calls.Add(ChatMessages.Call(call));
            }
        }
    }

    public void Start(IAsyncEnumerator<ChatResponseUpdate> updates, string firstText, IReadOnlyList<TokenLogprob>? firstLogprobs, TimeSpan firstTokenAfter)
    {
        timer.CancelAfter(Timeout.InfiniteTimeSpan); // committed: only the total timeout applies from here
        Updates = updates;
        FirstText = firstText;
        FirstLogprobs = Add(firstText, firstLogprobs);
        FirstTokenAfter = firstTokenAfter;
    }

    /// <summary>Adds a piece of the answer and its tokens' log probabilities (which it returns).</summary>
    public IReadOnlyList<TokenLogprob>? Add(string text, IReadOnlyList<TokenLogprob>? logprobs)
    {
        Text.Append(text);
        if (logprobs is not null)
        {
            (Logprobs ??= []).AddRange(logprobs);
        }

        return logprobs;
    }

    public async ValueTask DisposeAsync()
    {
        await Updates.DisposeAsync();
        activity?.Dispose();
        timer.Dispose();
    }
}
