using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;

namespace TailorPO.Labeling.Tests;

/// <summary>A scripted annotator over HTTP, as a browser does it: GET the page (cookie + anti-forgery field), POST the form.</summary>
internal sealed partial class AnnotatorClient : IDisposable
{
    private readonly HttpClient _http;

    public AnnotatorClient(string address, string token)
    {
        Token = token;
        _http = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false })
        {
            BaseAddress = new Uri(address),
            Timeout = TimeSpan.FromSeconds(30),
        };
    }

    public string Token { get; }

    public HttpClient Http => _http;

    /// <summary>The page now shown: its assignment id (null when done), anti-forgery token, image URLs and the raw HTML.</summary>
    public async Task<ShownPage> ShowAsync()
    {
        var response = await _http.GetAsync($"/a/{Token}");
        var html = await response.Content.ReadAsStringAsync();
        if (response.StatusCode != HttpStatusCode.OK) return new ShownPage(response.StatusCode, null, null, [], html);
        var assignment = AssignmentField().Match(html);
        var antiforgery = AntiforgeryField().Match(html);
        var images = ImageSource().Matches(html).Select(m => m.Groups[1].Value).ToList();
        return new ShownPage(response.StatusCode, assignment.Success ? long.Parse(assignment.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : null,
            antiforgery.Success ? WebUtility.HtmlDecode(antiforgery.Groups[1].Value) : null, images, html);
    }

    /// <summary>Posts a vote; returns the status and the time the POST took.</summary>
    public async Task<(HttpStatusCode Status, TimeSpan Latency)> VoteAsync(long assignment, string answer, string? antiforgery)
    {
        var fields = new List<KeyValuePair<string, string>> { new("assignment", assignment.ToString(System.Globalization.CultureInfo.InvariantCulture)), new("answer", answer) };
        if (antiforgery is not null) fields.Add(new("__RequestVerificationToken", antiforgery));
        var clock = Stopwatch.StartNew();
        using var response = await _http.PostAsync($"/a/{Token}/vote", new FormUrlEncodedContent(fields));
        return (response.StatusCode, clock.Elapsed);
    }

    public void Dispose() => _http.Dispose();

    [GeneratedRegex("name=\"assignment\" value=\"(\\d+)\"")]
    private static partial Regex AssignmentField();

    [GeneratedRegex("name=\"__RequestVerificationToken\" value=\"([^\"]+)\"")]
    private static partial Regex AntiforgeryField();

    [GeneratedRegex("<img [^>]*src=\"([^\"]+)\"")]
    private static partial Regex ImageSource();
}

/// <summary>What a GET of the labelling page showed.</summary>
internal sealed record ShownPage(HttpStatusCode Status, long? Assignment, string? Antiforgery, IReadOnlyList<string> Images, string Html);
