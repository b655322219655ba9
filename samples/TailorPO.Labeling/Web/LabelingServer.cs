using System.Net;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http.Features;
using TailorPO.Labeling.Storage;

namespace TailorPO.Labeling.Web;

/// <summary>
/// The labelling web app: Kestrel bound to 127.0.0.1 only, anti-forgery on every POST, small request bodies, image
/// URLs by numeric id, and every annotator request authenticated by the token in its path against the database
/// (so a revocation applies to the very next request). Unknown or revoked tokens get 404, the admin pages without
/// the admin token 401.
/// </summary>
internal static class LabelingServer
{
    /// <summary>Largest request body accepted, bytes (a vote or an annotator name is well under 1 KB).</summary>
    public const int MaxRequestBodyBytes = 8 * 1024;

    /// <summary>Builds the app; start it with <c>StartAsync</c> or <c>RunAsync</c>.</summary>
    /// <param name="store">The labelling database.</param>
    /// <param name="dataFolder">The folder the stored image paths are relative to.</param>
    /// <param name="adminToken">The secret of the admin pages.</param>
    /// <param name="port">The loopback port; 0 picks a free one.</param>
    public static WebApplication Build(LabelStore store, string dataFolder, string adminToken, int port)
    {
        ArgumentNullException.ThrowIfNull(store);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        // The anti-forgery keys live with the data, so a restarted server accepts the forms it served before.
        builder.Logging.AddFilter("Microsoft.AspNetCore.DataProtection", LogLevel.Error);
        builder.Services.AddDataProtection().PersistKeysToFileSystem(new DirectoryInfo(Path.Combine(dataFolder, "keys"))).SetApplicationName("TailorPO.Labeling");
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, port);
            kestrel.Limits.MaxRequestBodySize = MaxRequestBodyBytes;
            kestrel.Limits.MaxRequestLineSize = 2048;
            kestrel.Limits.MaxRequestHeadersTotalSize = 16 * 1024;
        });
        builder.Services.Configure<FormOptions>(form =>
        {
            form.ValueCountLimit = 8;
            form.ValueLengthLimit = 1024;
            form.KeyLengthLimit = 64;
            form.MultipartBodyLengthLimit = MaxRequestBodyBytes;
        });
        builder.Services.AddAntiforgery(options =>
        {
            options.Cookie.Name = "labeling.af";
            options.Cookie.SameSite = SameSiteMode.Strict;
            options.Cookie.HttpOnly = true;
        });
        builder.Services.AddSingleton(store);

        var app = builder.Build();
        app.Use(async (context, next) =>
        {
            // Tokens travel in paths: no referrer, no caching, no framing, no inline script.
            var headers = context.Response.Headers;
            headers["Referrer-Policy"] = "no-referrer";
            headers["Cache-Control"] = "no-store";
            headers["X-Content-Type-Options"] = "nosniff";
            headers["X-Frame-Options"] = "DENY";
            headers["Content-Security-Policy"] = "default-src 'self'; img-src 'self'; script-src 'self'; style-src 'self'; form-action 'self'; frame-ancestors 'none'";
            // Kestrel stops a chunked body at the same limit while it is read; a declared length is refused up front.
            if (context.Request.ContentLength > MaxRequestBodyBytes)
            {
                context.Response.StatusCode = StatusCodes.Status413PayloadTooLarge;
                return;
            }
            await next(context);
        });

        var root = Path.GetFullPath(dataFolder);
        var adminHash = SHA256.HashData(Encoding.UTF8.GetBytes(adminToken));
        bool IsAdmin(string token) => CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(token)), adminHash);

        app.MapGet("/", () => Results.NotFound());
        app.MapGet("/assets/{name}", (string name) => Asset(name));

        app.MapGet("/a/{token}", (string token, HttpContext context, IAntiforgery antiforgery) =>
        {
            if (store.FindActiveAnnotator(token) is not { } annotator) return Results.NotFound();
            var assignment = store.NextAssignment(annotator);
            var progress = store.Progress(annotator);
            if (assignment is null) return Results.Content(LabelPages.Done(progress), "text/html; charset=utf-8");
            return Results.Content(LabelPages.Pair(token, assignment, progress, Field(antiforgery, context)), "text/html; charset=utf-8");
        });

        app.MapPost("/a/{token}/vote", async (string token, HttpContext context, IAntiforgery antiforgery) =>
        {
            if (store.FindActiveAnnotator(token) is not { } annotator) return Results.NotFound();
            if (!await IsValidForm(antiforgery, context)) return Results.BadRequest("The form's anti-forgery token is missing or invalid; reload the page.");
            var form = await context.Request.ReadFormAsync(context.RequestAborted);
            if (!long.TryParse(form["assignment"], out var assignmentId) || LabelStore.ParseAnswer(form["answer"]) is not { } answer)
                return Results.BadRequest("Expected an assignment id and an answer (left, right, tie or skip).");
            return store.RecordVote(annotator, assignmentId, answer) switch
            {
                VoteOutcome.Recorded => Results.Redirect($"/a/{token}", permanent: false),
                VoteOutcome.AlreadyVoted => Results.Conflict("This pair already has your vote; votes are never changed."),
                _ => Results.NotFound(),
            };
        });

        app.MapGet("/a/{token}/image/{id:long}", (string token, long id) =>
        {
            if (store.FindActiveAnnotator(token) is not { } annotator) return Results.NotFound();
            if (store.ImageFileFor(annotator, id) is not { } file) return Results.NotFound();
            var full = Path.GetFullPath(Path.Combine(root, file));
            // Stored paths are the generator's; still, nothing outside the data folder is ever served.
            if (!full.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal) || !File.Exists(full)) return Results.NotFound();
            return Results.File(full, "image/png");
        });

        app.MapGet("/admin/{token}", (string token, HttpContext context, IAntiforgery antiforgery) =>
            !IsAdmin(token) ? Results.Unauthorized() : AdminPage(store, token, Field(antiforgery, context), null));

        app.MapPost("/admin/{token}/annotators", async (string token, HttpContext context, IAntiforgery antiforgery) =>
        {
            if (!IsAdmin(token)) return Results.Unauthorized();
            if (!await IsValidForm(antiforgery, context)) return Results.BadRequest("The form's anti-forgery token is missing or invalid; reload the page.");
            var form = await context.Request.ReadFormAsync(context.RequestAborted);
            var name = form["name"].ToString().Trim();
            if (name.Length is 0 or > 100) return Results.BadRequest("An annotator's name must have 1 to 100 characters.");
            var (_, annotatorToken) = store.CreateAnnotator(name);
            var link = $"{context.Request.Scheme}://{context.Request.Host}/a/{annotatorToken}";
            return AdminPage(store, token, Field(antiforgery, context), link);
        });

        app.MapPost("/admin/{token}/annotators/{id:long}/revoke", async (string token, long id, HttpContext context, IAntiforgery antiforgery) =>
        {
            if (!IsAdmin(token)) return Results.Unauthorized();
            if (!await IsValidForm(antiforgery, context)) return Results.BadRequest("The form's anti-forgery token is missing or invalid; reload the page.");
            return store.RevokeAnnotator(id) ? Results.Redirect($"/admin/{token}") : Results.NotFound();
        });

        return app;
    }

    /// <summary>The address the started app listens on (<c>http://127.0.0.1:port</c>).</summary>
    public static string Address(WebApplication app) => app.Urls.First();

    private static IResult AdminPage(LabelStore store, string token, string field, string? link) =>
        Results.Content(LabelPages.Admin(token, store.Annotators(), store.PairCount(), store.AnnotatorsPerPair, field, link), "text/html; charset=utf-8");

    private static string Field(IAntiforgery antiforgery, HttpContext context)
    {
        var tokens = antiforgery.GetAndStoreTokens(context);
        return Html.AntiforgeryField(tokens.FormFieldName, tokens.RequestToken);
    }

    private static async Task<bool> IsValidForm(IAntiforgery antiforgery, HttpContext context)
    {
        if (!context.Request.HasFormContentType) return false;
        try
        {
            await antiforgery.ValidateRequestAsync(context);
            return true;
        }
        catch (AntiforgeryValidationException)
        {
            return false;
        }
    }

    private static IResult Asset(string name)
    {
        var type = Path.GetExtension(name) switch { ".js" => "text/javascript; charset=utf-8", ".css" => "text/css; charset=utf-8", _ => null };
        var stream = type is null ? null : Assembly.GetExecutingAssembly().GetManifestResourceStream($"TailorPO.Labeling.Assets.{name}");
        return stream is null ? Results.NotFound() : Results.Stream(stream, type);
    }
}
