using System.Globalization;
using System.Text;
using TailorPO.Labeling.Storage;
using static TailorPO.Labeling.Web.Html;

namespace TailorPO.Labeling.Web;

/// <summary>The annotator's page (one pair per screen) and the admin page.</summary>
internal static class LabelPages
{
    /// <summary>One pair: the prompt, the two images in the recorded order, the four answers and the progress count.</summary>
    public static string Pair(string token, Assignment assignment, LabelProgress progress, string antiforgeryField)
    {
        var body = new StringBuilder();
        body.Append("<h1>Which image matches the prompt better?</h1>");
        body.Append("<p class=\"prompt\" id=\"prompt\">").Append(E(assignment.Prompt)).Append("</p>");
        body.Append("<div class=\"pair\">");
        body.Append(Figure(token, assignment.LeftImageId, "left", "Left (\u2190)"));
        body.Append(Figure(token, assignment.RightImageId, "right", "Right (\u2192)"));
        body.Append("</div>");
        body.Append("<form id=\"vote\" method=\"post\" action=\"/a/").Append(E(token)).Append("/vote\">");
        body.Append(antiforgeryField);
        body.Append("<input type=\"hidden\" name=\"assignment\" value=\"").Append(assignment.Id.ToString(CultureInfo.InvariantCulture)).Append("\">");
        body.Append("<div class=\"answers\">");
        body.Append("<button name=\"answer\" value=\"left\">\u2190 Left</button>");
        body.Append("<button name=\"answer\" value=\"tie\">T: Tie</button>");
        body.Append("<button name=\"answer\" value=\"right\">Right \u2192</button>");
        body.Append("<button name=\"answer\" value=\"skip\">S: Skip</button>");
        body.Append("</div></form>");
        body.Append(ProgressLine(progress));
        return Page("Label a pair", body.ToString());
    }

    /// <summary>Shown when nothing is left for this annotator.</summary>
    public static string Done(LabelProgress progress) =>
        Page("Thank you", "<h1>All done - thank you!</h1>" + ProgressLine(progress));

    /// <summary>The admin page: annotators with their vote counts and a revoke button, a form to add one, and a just-created link.</summary>
    public static string Admin(string adminToken, IReadOnlyList<(Annotator Annotator, int Votes)> annotators, int pairs, int perPair, string antiforgeryField, string? newLink)
    {
        var body = new StringBuilder();
        body.Append("<h1>Labelling - admin</h1>");
        body.Append(CultureInfo.InvariantCulture, $"<p>{pairs} pairs, {perPair} annotator(s) per pair.</p>");
        if (newLink is not null)
            body.Append("<p>New link (shown once - send it to the annotator):</p><p class=\"link\" id=\"new-link\">").Append(E(newLink)).Append("</p>");
        body.Append("<table><tr><th>Id</th><th>Name</th><th>Votes</th><th>Status</th><th></th></tr>");
        foreach (var (annotator, votes) in annotators)
        {
            body.Append(CultureInfo.InvariantCulture, $"<tr><td>{annotator.Id}</td><td>{E(annotator.Name)}</td><td>{votes}</td>");
            body.Append("<td>").Append(annotator.IsRevoked ? "revoked" : "active").Append("</td><td>");
            if (!annotator.IsRevoked)
                body.Append(CultureInfo.InvariantCulture, $"<form method=\"post\" action=\"/admin/{E(adminToken)}/annotators/{annotator.Id}/revoke\">{antiforgeryField}<button>Revoke</button></form>");
            body.Append("</td></tr>");
        }
        body.Append("</table>");
        body.Append(CultureInfo.InvariantCulture, $"<h2>Add an annotator</h2><form method=\"post\" action=\"/admin/{E(adminToken)}/annotators\">{antiforgeryField}");
        body.Append("<input name=\"name\" maxlength=\"100\" required placeholder=\"name\"> <button>Create link</button></form>");
        return Page("Labelling admin", body.ToString());
    }

    private static string Figure(string token, long imageId, string side, string caption) =>
        $"<figure><img id=\"{side}\" alt=\"{side} image\" src=\"/a/{E(token)}/image/{imageId.ToString(CultureInfo.InvariantCulture)}\"><figcaption>{E(caption)}</figcaption></figure>";

    private static string ProgressLine(LabelProgress progress) =>
        string.Create(CultureInfo.InvariantCulture, $"<p class=\"progress\" id=\"progress\">{progress.Done} done, {progress.Remaining} to go</p>");
}
