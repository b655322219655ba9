using System.Text;
using System.Text.Encodings.Web;

namespace TailorPO.Labeling.Web;

/// <summary>The app's pages as server-rendered HTML: every value from the database or the request is HTML-encoded.</summary>
internal static class Html
{
    /// <summary>Encodes text for an element or a quoted attribute.</summary>
    public static string E(string? text) => HtmlEncoder.Default.Encode(text ?? "");

    /// <summary>A whole page around <paramref name="body"/>.</summary>
    public static string Page(string title, string body)
    {
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">");
        html.Append("<title>").Append(E(title)).Append("</title><link rel=\"stylesheet\" href=\"/assets/label.css\"></head><body>");
        html.Append(body);
        html.Append("<script src=\"/assets/label.js\"></script></body></html>");
        return html.ToString();
    }

    /// <summary>The hidden anti-forgery field of a form.</summary>
    public static string AntiforgeryField(string fieldName, string? token) =>
        $"<input type=\"hidden\" name=\"{E(fieldName)}\" value=\"{E(token)}\">";
}
