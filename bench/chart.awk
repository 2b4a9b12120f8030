# chart.awk - an SVG bar chart of the markdown tables that run-peers.sh
# prints (report.awk's format): one panel per table, one group of bars per
# row (setting), one bar per implementation, the value the first number of
# each cell. Columns named pipes/active/timers/metric label the rows.
#
# usage: awk -f chart.awk TABLES.md... > chart.svg
# Written for POSIX awk (mawk, gawk).

BEGIN {
    W = 960; LABEL = 200; RIGHT = 90; BAR = 11; GAP = 8
    split("#888888 #d62728 #1f77b4 #9467bd #2ca02c #17becf #ff7f0e #8c564b", pal, " ")
    npanel = 0
}

function trim(s) { gsub(/^[ \t]+|[ \t]+$/, "", s); return s }
function esc(s) { gsub(/&/, "\\&amp;", s); gsub(/</, "\\&lt;", s); gsub(/>/, "\\&gt;", s); return s }

/^## / { title = substr($0, 4); intable = 0; next }

/^\|/ {
    n = split($0, f, "|")
    # f[1] and f[n] are empty (leading and trailing bars)
    if (!intable) {
        intable = 1; hdr = 1
        npanel++; ptitle[npanel] = title; prows[npanel] = 0
        nkey = 0; ncol = 0
        for (i = 2; i < n; i++) {
            h = trim(f[i])
            if (h == "pipes" || h == "active" || h == "timers" || h == "metric") { nkey++; key[nkey] = i; kname[nkey] = h }
            else { ncol++; colidx[ncol] = i; pcol[npanel, ncol] = h }
        }
        pncol[npanel] = ncol
        next
    }
    if (hdr) { hdr = 0; next } # the |---:| line
    r = ++prows[npanel]
    lab = ""
    for (k = 1; k <= nkey; k++) {
        v = trim(f[key[k]])
        if (kname[k] == "pipes") lab = lab "P=" v
        else if (kname[k] == "active") lab = lab " A=" v
        else if (kname[k] == "timers") lab = lab (v == "1" ? " -t" : "")
        else lab = (lab == "" ? "" : lab " ") v
    }
    # a churn table's first column is "timers" (N), not a flag
    if (nkey == 1 && kname[1] == "timers") lab = "N=" trim(f[key[1]])
    if (nkey == 2 && kname[1] == "timers") lab = "N=" trim(f[key[1]]) " " trim(f[key[2]])
    plab[npanel, r] = lab
    for (c = 1; c <= ncol; c++) {
        v = trim(f[colidx[c]])
        sub(/ .*/, "", v)
        pval[npanel, r, c] = (v ~ /^[0-9.]+$/) ? v + 0 : -1
    }
    next
}

{ intable = 0 }

END {
    y = 10
    out = ""
    for (p = 1; p <= npanel; p++) {
        if (prows[p] == 0) continue
        max = 0
        for (r = 1; r <= prows[p]; r++)
            for (c = 1; c <= pncol[p]; c++)
                if (pval[p, r, c] > max) max = pval[p, r, c]
        if (max <= 0) max = 1
        out = out sprintf("<text x=\"10\" y=\"%d\" font-size=\"15\" font-weight=\"bold\">%s</text>\n", y + 16, esc(ptitle[p]))
        y += 26
        # legend
        lx = LABEL
        for (c = 1; c <= pncol[p]; c++) {
            out = out sprintf("<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" fill=\"%s\"/><text x=\"%d\" y=\"%d\" font-size=\"12\">%s</text>\n", lx, y, pal[(c - 1) % 8 + 1], lx + 16, y + 11, esc(pcol[p, c]))
            lx += 28 + 7 * length(pcol[p, c])
        }
        y += 20
        for (r = 1; r <= prows[p]; r++) {
            gh = pncol[p] * BAR
            out = out sprintf("<text x=\"%d\" y=\"%d\" font-size=\"12\" text-anchor=\"end\">%s</text>\n", LABEL - 8, y + gh / 2 + 4, esc(plab[p, r]))
            for (c = 1; c <= pncol[p]; c++) {
                v = pval[p, r, c]
                by = y + (c - 1) * BAR
                if (v < 0) {
                    out = out sprintf("<text x=\"%d\" y=\"%d\" font-size=\"9\" fill=\"#666\">n/a</text>\n", LABEL + 2, by + 9)
                    continue
                }
                bw = (W - LABEL - RIGHT) * v / max
                out = out sprintf("<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"><title>%s %s: %s</title></rect>", LABEL, by, bw, BAR - 1, pal[(c - 1) % 8 + 1], esc(plab[p, r]), esc(pcol[p, c]), v)
                out = out sprintf("<text x=\"%.1f\" y=\"%d\" font-size=\"9\">%s</text>\n", LABEL + bw + 3, by + 9, v)
            }
            y += gh + GAP
        }
        y += 14
    }
    printf "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\">\n", W, y, W, y
    printf "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
    printf "%s", out
    print "</svg>"
}
