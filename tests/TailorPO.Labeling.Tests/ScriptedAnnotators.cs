using System.Collections.Concurrent;
using System.Net;

namespace TailorPO.Labeling.Tests;

/// <summary>Concurrent scripted annotators: each shows a page, votes, and repeats, a bounded number of times.</summary>
internal sealed class ScriptedAnnotators
{
    /// <summary>Every vote the server acknowledged (303/302 after commit): annotator token and assignment id.</summary>
    public ConcurrentBag<(string Token, long Assignment)> Acknowledged { get; } = [];

    /// <summary>Latency of every acknowledged vote POST.</summary>
    public ConcurrentBag<TimeSpan> Latencies { get; } = [];

    /// <summary>Vote POSTs answered with anything but the redirect of a committed vote.</summary>
    public ConcurrentBag<HttpStatusCode> Refusals { get; } = [];

    /// <summary>
    /// Runs one annotator per token until each has nothing left, <paramref name="maxVotesEach"/> votes, a transport error
    /// (the server went away) or <paramref name="cancellationToken"/>. Answers are drawn from a seeded generator.
    /// </summary>
    public Task RunAsync(string address, IReadOnlyList<string> tokens, int maxVotesEach, Func<bool>? stop, CancellationToken cancellationToken) =>
        Task.WhenAll(tokens.Select((token, index) => Task.Run(() => RunOneAsync(address, token, index, maxVotesEach, stop, cancellationToken), cancellationToken)));

    private async Task RunOneAsync(string address, string token, int index, int maxVotes, Func<bool>? stop, CancellationToken cancellationToken)
    {
        var random = new Random(index);
        string[] answers = ["left", "right", "tie"];
        using var client = new AnnotatorClient(address, token);
        for (var vote = 0; vote < maxVotes && !cancellationToken.IsCancellationRequested && stop?.Invoke() != true; vote++)
        {
            try
            {
                var page = await client.ShowAsync();
                if (page.Assignment is null) return;
                var (status, latency) = await client.VoteAsync(page.Assignment.Value, answers[random.Next(answers.Length)], page.Antiforgery);
                if (status == HttpStatusCode.Redirect)
                {
                    Acknowledged.Add((token, page.Assignment.Value));
                    Latencies.Add(latency);
                }
                else
                    Refusals.Add(status);
            }
            catch (HttpRequestException)
            {
                return; // the server is gone (the crash test kills it)
            }
            catch (TaskCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>The q-quantile of the acknowledged latencies, milliseconds (nearest rank).</summary>
    public double QuantileMilliseconds(double q)
    {
        var sorted = Latencies.Select(l => l.TotalMilliseconds).Order().ToArray();
        return sorted.Length == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Length) - 1, 0, sorted.Length - 1)];
    }
}
