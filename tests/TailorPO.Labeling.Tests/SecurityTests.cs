using System.Net;
using TailorPO.Labeling.Storage;

namespace TailorPO.Labeling.Tests;

/// <summary>The app over real HTTP on loopback: tokens, anti-forgery, assignments, image URLs, request sizes.</summary>
public sealed class SecurityTests : IClassFixture<SecurityTests.Server>
{
    private readonly Server _server;

    public SecurityTests(Server server) => _server = server;

    public sealed class Server : IDisposable
    {
        private readonly TempFolder _folder = new();

        public Server()
        {
            Store = TestData.StoreWithPairs(_folder.Path, 30, 3);
            File.WriteAllText(Path.Combine(_folder.Path, "secret.txt"), "SECRET-OUTSIDE-IMAGES");
            Process = ServerProcess.Start(_folder.Path, 3);
        }

        internal LabelStore Store { get; }

        internal ServerProcess Process { get; }

        public void Dispose()
        {
            Process.Dispose();
            _folder.Dispose();
        }
    }

    private AnnotatorClient NewAnnotator(string name) => new(_server.Process.Address, _server.Store.CreateAnnotator(name).Token);

    [Fact]
    public async Task Without_a_valid_token_pages_images_and_votes_answer_404_and_admin_401()
    {
        using var stranger = new AnnotatorClient(_server.Process.Address, AnnotatorTokens.Create());
        var page = await stranger.ShowAsync();
        Assert.Equal(HttpStatusCode.NotFound, page.Status);
        Assert.Equal(HttpStatusCode.NotFound, (await stranger.VoteAsync(1, "left", "x")).Status);
        using var owner = NewAnnotator("owner");
        var shown = await owner.ShowAsync();
        Assert.Equal(HttpStatusCode.OK, shown.Status);
        var image = shown.Images[0].Replace(owner.Token, stranger.Token, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await stranger.Http.GetAsync(image)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await owner.Http.GetAsync(shown.Images[0])).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await stranger.Http.GetAsync($"/admin/{AnnotatorTokens.Create()}")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await stranger.Http.PostAsync($"/admin/{AnnotatorTokens.Create()}/annotators", new FormUrlEncodedContent([new("name", "x")]))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await stranger.Http.GetAsync("/")).StatusCode);
    }

    [Fact]
    public async Task A_revoked_token_stops_working_at_once()
    {
        var (annotator, token) = _server.Store.CreateAnnotator("soon revoked");
        using var client = new AnnotatorClient(_server.Process.Address, token);
        var shown = await client.ShowAsync();
        Assert.Equal(HttpStatusCode.OK, shown.Status);
        Assert.True(_server.Store.RevokeAnnotator(annotator.Id));
        Assert.Equal(HttpStatusCode.NotFound, (await client.ShowAsync()).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await client.Http.GetAsync(shown.Images[0])).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.VoteAsync(shown.Assignment!.Value, "left", shown.Antiforgery)).Status);
        Assert.DoesNotContain(_server.Store.Votes(), v => v.AnnotatorId == annotator.Id);
    }

    [Fact]
    public async Task An_annotator_cannot_vote_on_or_see_the_images_of_another_annotators_pair()
    {
        using var owner = NewAnnotator("owner2");
        using var other = NewAnnotator("other2");
        var ownerPage = await owner.ShowAsync();
        var otherPage = await other.ShowAsync();
        var before = _server.Store.Votes().Count;
        Assert.Equal(HttpStatusCode.NotFound, (await other.VoteAsync(ownerPage.Assignment!.Value, "left", otherPage.Antiforgery)).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await other.VoteAsync(987_654_321, "left", otherPage.Antiforgery)).Status);
        Assert.Equal(before, _server.Store.Votes().Count);
        var ownerImageId = ownerPage.Images.Select(i => i[(i.LastIndexOf('/') + 1)..]).Except(otherPage.Images.Select(i => i[(i.LastIndexOf('/') + 1)..])).FirstOrDefault();
        if (ownerImageId is not null)
            Assert.Equal(HttpStatusCode.NotFound, (await other.Http.GetAsync($"/a/{other.Token}/image/{ownerImageId}")).StatusCode);
        // Votes are never readable through the app: the only per-annotator figure is one's own progress count.
        Assert.DoesNotContain("owner2", otherPage.Html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_vote_without_the_anti_forgery_token_or_with_another_sessions_token_is_refused()
    {
        using var client = NewAnnotator("forgery");
        using var second = NewAnnotator("forgery-2");
        var page = await client.ShowAsync();
        var secondPage = await second.ShowAsync();
        var before = _server.Store.Votes().Count;
        Assert.Equal(HttpStatusCode.BadRequest, (await client.VoteAsync(page.Assignment!.Value, "left", null)).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await client.VoteAsync(page.Assignment!.Value, "left", "forged")).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await client.VoteAsync(page.Assignment!.Value, "left", secondPage.Antiforgery)).Status);
        Assert.Equal(before, _server.Store.Votes().Count);
        Assert.Equal(HttpStatusCode.Redirect, (await client.VoteAsync(page.Assignment!.Value, "left", page.Antiforgery)).Status);
        Assert.Equal(HttpStatusCode.Conflict, (await client.VoteAsync(page.Assignment!.Value, "right", page.Antiforgery)).Status);
        Assert.Equal(before + 1, _server.Store.Votes().Count);
    }

    [Theory]
    [InlineData("../labels.db")]
    [InlineData("..%2Flabels.db")]
    [InlineData("..%2F..%2Fsecret.txt")]
    [InlineData("%2e%2e/%2e%2e/secret.txt")]
    [InlineData("1/../../secret.txt")]
    [InlineData("/etc/passwd")]
    [InlineData("..%5Csecret.txt")]
    public async Task Path_traversal_in_image_urls_finds_nothing(string tail)
    {
        using var client = NewAnnotator("traversal-" + tail.GetHashCode(StringComparison.Ordinal));
        await client.ShowAsync();
        using var response = await client.Http.GetAsync($"/a/{client.Token}/image/{tail}");
        var body = await response.Content.ReadAsStringAsync();
        Assert.NotEqual(HttpStatusCode.OK, response.StatusCode);
        Assert.DoesNotContain("SECRET-OUTSIDE-IMAGES", body, StringComparison.Ordinal);
        Assert.DoesNotContain("SQLite format", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Request_bodies_beyond_the_limit_are_refused()
    {
        using var client = NewAnnotator("big");
        var page = await client.ShowAsync();
        var fields = new List<KeyValuePair<string, string>>
        {
            new("assignment", page.Assignment!.Value.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            new("answer", "left"),
            new("__RequestVerificationToken", page.Antiforgery!),
            new("padding", new string('x', 64 * 1024)),
        };
        using var response = await client.Http.PostAsync($"/a/{client.Token}/vote", new FormUrlEncodedContent(fields));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.ShowAsync()).Status);
    }

    [Fact]
    public async Task Pages_carry_headers_that_keep_the_token_out_of_referrers_and_caches()
    {
        using var client = NewAnnotator("headers");
        using var response = await client.Http.GetAsync($"/a/{client.Token}");
        Assert.Equal("no-referrer", response.Headers.GetValues("Referrer-Policy").Single());
        Assert.Contains("no-store", response.Headers.CacheControl!.ToString(), StringComparison.Ordinal);
        Assert.Contains("script-src 'self'", response.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_admin_page_creates_and_revokes_links_through_anti_forgery_forms()
    {
        using var admin = new AnnotatorClient(_server.Process.Address, "unused");
        var page = await admin.Http.GetStringAsync($"/admin/{ServerProcess.AdminToken}");
        var antiforgery = WebUtility.HtmlDecode(System.Text.RegularExpressions.Regex.Match(page, "name=\"__RequestVerificationToken\" value=\"([^\"]+)\"").Groups[1].Value);
        using var forged = await admin.Http.PostAsync($"/admin/{ServerProcess.AdminToken}/annotators", new FormUrlEncodedContent([new("name", "mallory")]));
        Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
        using var created = await admin.Http.PostAsync($"/admin/{ServerProcess.AdminToken}/annotators",
            new FormUrlEncodedContent([new("name", "<b>carol</b>"), new("__RequestVerificationToken", antiforgery)]));
        var html = await created.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        Assert.DoesNotContain("<b>carol</b>", html, StringComparison.Ordinal); // encoded, never markup
        var link = System.Text.RegularExpressions.Regex.Match(html, "id=\"new-link\">([^<]+)<").Groups[1].Value;
        Assert.StartsWith(_server.Process.Address + "/a/", link, StringComparison.Ordinal);
        using var carol = new AnnotatorClient(_server.Process.Address, link[(link.LastIndexOf('/') + 1)..]);
        Assert.Equal(HttpStatusCode.OK, (await carol.ShowAsync()).Status);
        var id = _server.Store.Annotators().Single(a => a.Annotator.Name == "<b>carol</b>").Annotator.Id;
        using var revoked = await admin.Http.PostAsync($"/admin/{ServerProcess.AdminToken}/annotators/{id}/revoke",
            new FormUrlEncodedContent([new("__RequestVerificationToken", antiforgery)]));
        Assert.Equal(HttpStatusCode.Redirect, revoked.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await carol.ShowAsync()).Status);
    }
}
