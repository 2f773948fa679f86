package imageproc

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/jpeg"
	"math"
	"testing"
)

// libjpegCases are small JPEGs made with libjpeg-turbo's cjpeg from a
// synthetic picture with strong colour edges, and the RGB that its djpeg
// (default settings, the ones Pillow uses) decodes from them. Go's own
// conversion misses these by up to ~60 levels on the subsampled ones.
var libjpegCases = []struct {
	name    string
	jpeg    string // base64
	libjpeg string // base64 of djpeg's RGB bytes
}{
	{
		name:    "h2v2 odd size",
		jpeg:    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8UHRofHh0aHBwgJC4nICIsIxwcKDcpLDAxNDQ0Hyc5PTgyPC4zNDL/2wBDAQkJCQwLDBgNDRgyIRwhMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjL/wAARCAANABUDASIAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEBAQEBAQAAAAAAAAECAwQFBgcICQoL/8QAtREAAgECBAQDBAcFBAQAAQJ3AAECAxEEBSExBhJBUQdhcRMiMoEIFEKRobHBCSMzUvAVYnLRChYkNOEl8RcYGRomJygpKjU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6goOEhYaHiImKkpOUlZaXmJmaoqOkpaanqKmqsrO0tba3uLm6wsPExcbHyMnK0tPU1dbX2Nna4uPk5ebn6Onq8vP09fb3+Pn6/9oADAMBAAIRAxEAPwCIQ2HnXotLYJZIypDcyMSjPjJba+M4IYYyfuEkEBgdOI3EGowWd49xJD5BOxowrgHKt5YXdtwAWUgKcoRgFcVn6JaXM9sskt4GntLBLhZPL25jCMxQYIKtubIcEEfjVoW0cktvpqmWK2+xvdukUhVWRC3yEdyTAPmOcA4AGBjGgowfLS+ze/fa/Xrb57e8bRjUcpWfM5PXzdl3f5/mXjqF9p6fYdPs7nUJIZZVkH2y4/dqJGVfmSQ5J2t1VDx05oqjqV7HB9gvPsscrXVmpPnKrsMPIDzjHJyeAOvOTkkroeW46pJyp04tXerb769V1NnUow92pKSfZPRLpb5WP//Z",
		libjpeg: "2xwksx0PhUQMbHscRKQfMpMqR1tPbU1kiUdR+qmo/7Wy/8LFkXSGgoGhbHqrk7Lrga/tnKrN/9a+/8ys/87UqR8Aq0ASb0IBZnwnNJEpUK5aPlNA0rS8462rqWhkrmxupGt8romys6PU+Pr/IzJdFzJnPUFcjVY3pFkviVBH2bw+sZsru7JjTmwwV7OARp500uXHTTkgWjolhWNahGh3pIOyj1+1aTqK2r/eiHqJi4GjlIaT/+S1//a2+P7YqrU1w81dnaZVfpxqYKuWqO7jN0QzbVxKf2xdg3BpZ1ZcalFvhVqhnG6vx6S4/+vy/9X2YzxOeWM8hIhNfZ12zLyYzsaXGR4ALUQMWodzZ4yUt7fPkn+binmM+eXm/+3SVDcZhHBploaJcl9l3bfOt2qeqGGL//bu+v/rMko90NPIur+oIisAZ3lRaomDSGJza2eImYyqoqGmODcjfW5FeWg8WlM229XHg3h+1bHN/9X/ZxpIdGRlfIR1XV1VPIVQP3ZOHjYgXGxpYYWRudnod3mFnZ+RcIxPveGbepJunKicUE5Tdmt5ppupYkVb/73ko2eD7+vgXFxAiFxBQY1mD0YppK6mhYSJz+jtJTxCiYGOVEw/xN+YjLVm3//cKToyjIeOaFlsyr7WwqvF/dDnWDU7gI9yTVAj/8WVTGB4f4KR6szKVzoqen1iWFpPi2iJ/tr2NjIZjJhmTVsq0taxtaaT+eTpaVmAalmDzLvFe3pmxuu3KToAkVIPYkV1rYiq3aqzbUU5ZmBGs6+jxaC/RRw+bl9aX14/1NOnmpduNjAaaGNgTE9eWVxvl5Gf1tvUc5ZsWGcs5K10SQAgejdWh1FrgWBzjo+UKzQzoJGUybe1iIV209G8c2dPl5GBX251iqqlDDwMjKuJbWKCgG2a6PLzdHdkuZSEPQAAfT5JVyM5fmNy2eTeKjgnWk08h3FjoJWPiYB7in10xr3CpqnSLj1SkK13xdKns5LJ/+n/oImla1pkmHySRTAVxquWkGhgdF5HiaFnssaJ782xoWtpmHGEmoOX0s7NUERYb0SWo2m1/9rbnmJijkqXr2rD/+D/kGJ+fWSb",
	},
	{
		name:    "h2v1 odd size",
		jpeg:    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8UHRofHh0aHBwgJC4nICIsIxwcKDcpLDAxNDQ0Hyc5PTgyPC4zNDL/2wBDAQkJCQwLDBgNDRgyIRwhMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjL/wAARCAANABUDASEAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEBAQEBAQAAAAAAAAECAwQFBgcICQoL/8QAtREAAgECBAQDBAcFBAQAAQJ3AAECAxEEBSExBhJBUQdhcRMiMoEIFEKRobHBCSMzUvAVYnLRChYkNOEl8RcYGRomJygpKjU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6goOEhYaHiImKkpOUlZaXmJmaoqOkpaanqKmqsrO0tba3uLm6wsPExcbHyMnK0tPU1dbX2Nna4uPk5ebn6Onq8vP09fb3+Pn6/9oADAMBAAIRAxEAPwCIQ2HnXotLYJZIypDcyMSjPjJba+M4IYYyfuEkEBgdOI3EGowWd49xJD5BOxowrgHKt5YXdtwAWUgKcoRgFcVhhY+xUVJ3aT8tXo5bNJpdFr30ui4YmE3VqSesnzdrqy0011e60urrRuxYOoX2np9h0+zudQkhllWQfbLj92okZV+ZJDkna3VUPHTmis6lTD87568Yvs+a/wCF+mp1qOKf+78igtFpDpp1lf8Ard7mPolpcz2yyS3gae0sEuFk8vbmMIzFBggq25shwQR+NWhbRyS2+mqZYrb7G926RSFVZELfIR3JMA+Y5wDgAYGN6c5VZy5XZxu9ddeW/l13Wq0Wm98ow9pK8dG3p1tZLbb8ey7INSvY4PsF59ljla6s1J85Vdhh5AecY5OTwB15yckleouHMPir1ZTkm21ZOy0dtF8gliquHfs1Unp2kktdesZP8X+h/9k=",
		libjpeg: "0SMaoyYGaVQDV4YeSJ02OIdXNViOTlCjYlVx1r6a7tNg/8190lKPy1XHhmuyi7ndW8jNZMjG0+367uDt9OXiyAckxis5gTIhcHJDNYtAV6hjWEov6a+Z6rN9rGpQu12Zk2i6Wq3VYMvd5v//MTMuJTgiVT0xujpR3TZSwjc008oBsaQAxbFOWGYzU7GZPZuayuPqTjUuazgBlmYahnYrj5aEXnPQUkCm/6qw7FRJ6VeE312j/8T//9z//+fv0aoF1so2i7Q+XaxqTa+uqOr4TTsjlk8js1spql9cZEmmaz7MtDzCxVTKtaH22/r/zfDyP1M6d2JDiIVSZa9YxLq41bu+PAIRSy8rSpRXWZ5b1rOVyGxvw15+/9Hy9vDyNEUlfX4wlZRCXnA81L7A0VyixU+Z//X/9P/+RDtY6cm8wr2fBzoAQotUT5OUNWiHVnGOgZW6h6XXPClhwUNzyTlagj495s3QfHaawrfi/+n/USovf2FZh3yESlyOC6I3I4ZGLyc/e1aKcn6OvN7Fb4tAlrFKc5QjytuVjYGVuJHGdTtUgmhpd7WcMGFM/8LPt2Bx+ebfa1NHrEhKQYWOCEY7j72McZZgz+3RHkI4Y5SOJGFPouu2frh76P/QLDwhbZWXQG5srtSvp8OT1erJLkwwY5x5LWIc1+dgUFaii3W2/7rhai0/aIF9RF5rlV6h/9P/GEIUa6lmSVhBzdPRkLOs5Oz3j0Z7pj5x/KioqWZW/8nMYhUbtzgvbj91rYmjyLieWlUbZ2cfq7iNk7fPHSljhUuFfUpbvd+ieqxVNjUAfFlfaDaVZEe+e5Leq+f/UJ+ZPHM8y8FQXwAAiDY6hlZWa21sYaOhAE8oebZBvctsqm+L/6/mmVVMtYJ/fFWkn5bXEjkNja17eFuHjGWm7u76XIVbcMBdSQApkCt7dQh1nUuf6NzcODAuczOBn1qbqZhthpAvf5ErtdN7kcKKGFQUfr9Jqeh/f7aX3///e56aZ1lywGC3EUsQlsSVZX1jWG4/gq03tsti9Mm5pGZ7l3V2m4WH3MfYXjh1fDe0s13K/9DbslpZnkSOvWPD/9b/llmcb2LM",
	},
	{
		name:    "h1v2 odd size",
		jpeg:    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8UHRofHh0aHBwgJC4nICIsIxwcKDcpLDAxNDQ0Hyc5PTgyPC4zNDL/2wBDAQkJCQwLDBgNDRgyIRwhMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjL/wAARCAANABUDARIAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEBAQEBAQAAAAAAAAECAwQFBgcICQoL/8QAtREAAgECBAQDBAcFBAQAAQJ3AAECAxEEBSExBhJBUQdhcRMiMoEIFEKRobHBCSMzUvAVYnLRChYkNOEl8RcYGRomJygpKjU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6goOEhYaHiImKkpOUlZaXmJmaoqOkpaanqKmqsrO0tba3uLm6wsPExcbHyMnK0tPU1dbX2Nna4uPk5ebn6Onq8vP09fb3+Pn6/9oADAMBAAIRAxEAPwCIQ2HnXotLYJZIypDcyMSjPjJba+M4IYYyfuEkEBgX6JaXM9sskt4GntLBLhZPL25jCMxQYIKtubIcEEfjXJFUMNLkT1u1rdvS6kr6tXs18VrdO9yhPE4inUlLnnrFf+SNb9udXXR3s2jQiNxBqMFnePcSQ+QTsaMK4ByreWF3bcAFlICnKEYBXFQi2jklt9NUyxW32N7t0ikKqyIW+QjuSYB8xzgHAAwMddLnhTlJL3VZtq2t7vS7v977X0vF7fva7UEr3Ss/V6aNpJWaul6O6Lx1C+09PsOn2dzqEkMsqyD7Zcfu1EjKvzJIck7W6qh46c1R1K9jg+wXn2WOVrqzUnzlV2GHkB5xjk5PAHXnJyTdTAYqpUlGnGLkrXu2ltpazW7v+Bd4xipVbwi7WUXbopO//gR//9k=",
		libjpeg: "uisv0wU10xkaI5wzF78HOJgALU3eblcuXFhv/6Rz/62Z/8DHdX2kd4ajpF6ni73Ii7eqccav/8/X++W0/8LgmCcAyDAbtR4BMZFKA6omXqtBMkWu2biV0bLCwGgpwmRlk3R5n43HsKLd//T/IzROIzNCHVNTnEpQeXArm0NZ6LcqyZgA7p5HOmtoIsenZI1/3NjvXzEZeSomjmwVimGLbqGimVqzdy2mouigmWylnnS2j4Su/8vP8/+c//D0u7Ee0c8stpxFgJONJ7/Av9/2TzksfFFYqFdgfX4wckmDPWploEm0rmO1h82R/+T//8X/bS94pUpJc5YujI2hvsaK0sSVDh0ANkUAI6F7XJGVz7OokHu0j3Gj5/LS/9H/YC8ep066n41Pb1eVu86wxWWTtFSr/+je7f/XQjV7v96/uLvEGykcbH0vN6N/Q2hgiGZDjYnTmKS0LT0iuEZ6kVlMdjd94t2MlGilm9Sz/9zgdgxmhGNEbop8bkuFRYFLP3BtQikBU216N5mc4M2+nXkhkJnQaZQ6yNubyWClj6yqV0xGhmN7oaltGWR5+s6fs1io4fq2R15sl1RBYH5mAExNx6R6jHulovn/TjAUp4M1Qk5oz+FzjrB9/9T/AE09e5R2hkd8xc+Kjrv86uiebiFnY6VNP0hv/8OFgEV/L6Wv39W6kB4mRJCMV2Axi21r5evhZCAAXaSodEJBk/a2i7Wx/8/ZelJ3bVCqrdWOnl+Uov+gKiZZllEEgDR/d6KzrMOzvB80NXJrqLeWrKvLNCwXn0dXNWd+5sqlXLxRDztEklNEWkR1eUp0aqyI/771T61Vbkx/5K11IRInqiYzOXhtyzaHdJqbMi49bKS70bSunXGm4MjIemkzb7ghUnN6lqeUAT4fsKROMH2br1aayP/NpFp9uJKRAA8m1B4JAFJOzzWLuvXZRCwgHWVkql9kjZe7tGl+joFVqOFUo6nbMT1JcbmL88hiZ67+/9L/e6OArDxUlHmwGzF9/51HI5Sc1itLSsJe47lJt+fB3FBZTppzymS61s7BNGARYUHKrGWx4+7y2UtBNWvY4FDJ6/3x2URXdV/M",
	},
	{
		name:    "h1v1",
		jpeg:    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8UHRofHh0aHBwgJC4nICIsIxwcKDcpLDAxNDQ0Hyc5PTgyPC4zNDL/2wBDAQkJCQwLDBgNDRgyIRwhMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjL/wAARCAANABUDAREAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEBAQEBAQAAAAAAAAECAwQFBgcICQoL/8QAtREAAgECBAQDBAcFBAQAAQJ3AAECAxEEBSExBhJBUQdhcRMiMoEIFEKRobHBCSMzUvAVYnLRChYkNOEl8RcYGRomJygpKjU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6goOEhYaHiImKkpOUlZaXmJmaoqOkpaanqKmqsrO0tba3uLm6wsPExcbHyMnK0tPU1dbX2Nna4uPk5ebn6Onq8vP09fb3+Pn6/9oADAMBAAIRAxEAPwCIQ2HnXotLYJZIypDcyMSjPjJba+M4IYYyfuEkEBgeLB0KlKKk5Xk9pappNJWUY3d7O6el7qzWjJxGIjjMVTxNV3UYu+ybS2WvV6qKsrvrLZacRuINRgs7x7iSHyCdjRhXAOVbywu7bgAspAU5QjAK4rsw9SEaf7taza97a+rs3pe0m1Fyk2/e5lvc6q2Jpzp86lZJfDt7t2mppaSlsmr2jrJ8q3sHUL7T0+w6fZ3OoSQyyrIPtlx+7USMq/MkhyTtbqqHjpzWFepScuedRQT25ubXRX2b1V1dPVXRslUT9ng1BRitU1Dd3fV/O13vv0WPolpcz2yyS3gae0sEuFk8vbmMIzFBggq25shwQR+NLEYrkq8jvzNzTkmk/dckujVtLtO+uvRWxpJYirCCvG8ns+6pOXS/vOT0vaza2ta0LaOSW301TLFbfY3u3SKQqrIhb5CO5JgHzHOAcADAx0xpzVKpiINJpRa0va6b762vf1vLdtlUKMq1WMoNQcoxbsv5nFuyeiu5a90op3SlzGpXscH2C8+yxytdWak+cquww8gPOMcnJ4A685OSe7+xqOLrTpSbioWtyuys1a3fS2mtuyWt3z1MLSjLnleVvhdtox35ufvpa3W9+n//2Q==",
		libjpeg: "vjAK6wBGqy0hGJ9BG7clKpsYSUe1Ok/cTk3N2tYT+85b5O4/yUbg+UKqzkW5UtbbUsbtKeTT/+HF3+b5/9znkScN5Bs9pyUFLJ8QN48nVLI2Qzm+1NEi38Y23T277z233EapMcXHTNrC//L/TiUtQi4LQEgw5SRQ1D1C0jgGwM8cqqMV568AqS5/AtHJD7Gi4tzQTTQ4O0NFvUw8yUpdU8FGdGHxPUHYw+8ov1LHylnN5FLR6+jj/+f0z///rroS3NAKyKYAKa7nP7W14NPcOkA89CQK/zI5L6glY0DaR1ev0SXpzVaqdtGo8vX/1fDhhSRx2TUpRKpHMtAz1bG/x77RCBoclRQAJq03SatGztEOx1rN8kCi+Obk/+rrMkcc9zhZNcNLZU7c5cxO6ETjykuk//jc+P3/Pj9Tzt2axrTAMR4YQpMqLLRIW0u2uTLKLrnWIdnbPzIsz0wi1zFjWDy3/t1AyEq1etvk5P/MLj0qx0cgPatUcTXvFqAnF5MhORd1ojfFMJ+P6sqx/zNDR9s/MLMx5+Av4kzJKuCnY0dG8joyLPItTTbg/9RTzETM8eX5a1gu2DsYQZ8NFSmwrbtMGrKz6OevMDVJK7pePEKw+dgzN8zS5fj8NDJASrRSX0nY09c6U97h7trbVTonNMA7LTnx/+IEnSnCNKae68zKmyYARaE0SUjQ+iuf7Nz/PyRFKtclQEev+N0qRta//9jguj07cErBztsZzj7E4NjWUSMC2iU4nSOGMcW32afNqycyTlXAq88VROO7Ky8g1jIwczy+7dVXE8y8Ky877SgvF1jAuySPR7av6NDdKMNLOVfR6bkpMhMA4Qo2AqUYtDi+DcuySSgjMNlI29EA0U7S4Mq88CNkNM1PvjSkTMa5KCQ7SNdbbVHaxD/Y/+br2lIYQtZkABUE2SIAFSfP2iuk/8XCSyM+VzHWvkerIdKo/U1PSahA/7k2QNvfTTYoSNVk9NcPLNDr8v/2QM1DPlXw/ynuHyS2w8IsAKufvDlLXMcVutE5xdni9UhCN7A9yGLF0tDDPVM8M1u7u1nG/9vn5z1hZl2e6kbl//XW0VIng0/8",
	},
	{
		name:    "h2v2 narrow (box filter)",
		jpeg:    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8UHRofHh0aHBwgJC4nICIsIxwcKDcpLDAxNDQ0Hyc5PTgyPC4zNDL/2wBDAQkJCQwLDBgNDRgyIRwhMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjL/wAARCAAFAAQDASIAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEBAQEBAQAAAAAAAAECAwQFBgcICQoL/8QAtREAAgECBAQDBAcFBAQAAQJ3AAECAxEEBSExBhJBUQdhcRMiMoEIFEKRobHBCSMzUvAVYnLRChYkNOEl8RcYGRomJygpKjU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6goOEhYaHiImKkpOUlZaXmJmaoqOkpaanqKmqsrO0tba3uLm6wsPExcbHyMnK0tPU1dbX2Nna4uPk5ebn6Onq8vP09fb3+Pn6/9oADAMBAAIRAxEAPwDL1iS00vWrzT7a1dEt2VSVm++SivnBBx97HXtRRRXmOXs3yRSsu6Tf3tNn1WGyfA4mlGtWpqUpatu+v4n/2Q==",
		libjpeg: "vB8WtxoRVlAcd3E9xyohux4VZV8rYFomyrMXxK0RnbZRYnsWwqsP2MEllq9KjaZB6cW32LSmWQkKeSkq",
	},
	{
		name:    "h2v1 progressive",
		jpeg:    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8UHRofHh0aHBwgJC4nICIsIxwcKDcpLDAxNDQ0Hyc5PTgyPC4zNDL/2wBDAQkJCQwLDBgNDRgyIRwhMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjL/wgARCAANABUDASEAAhEBAxEB/8QAFwAAAwEAAAAAAAAAAAAAAAAAAAMEAv/EABgBAAIDAAAAAAAAAAAAAAAAAAIDAAEE/9oADAMBAAIQAxAAAAHFS7YC6NrADVP/xAAaEAADAAMBAAAAAAAAAAAAAAABAgMAERIT/9oACAEBAAEFAtJsdCno88irFeQTRwM//8QAIREAAQIEBwAAAAAAAAAAAAAAAQADAhESISJBQ4GR0eH/2gAIAQMBAT8BDgNURzupO6cpbdoCo2Rdibw1Hnwr/8QAIREAAQQABgMAAAAAAAAAAAAAAQACAxESFSEiQWGR0fD/2gAIAQIBAT8BiGCr+7TnR3q8DymkuJrj0sujl3Elf//EACEQAAIBAwQDAQAAAAAAAAAAAAECEgARIQMiQVFxgbHw/9oACAEBAAY/AniuzhjQR5EW6+VDTRtQgm+9sZ81cvlUle3FLp5Cwlg/uqR4gyTn3X//xAAfEAEAAQQCAwEAAAAAAAAAAAABEQAhMUFRYXGBkdH/2gAIAQEAAT8h10EGWXmH3881JTRsHhsmOTGOqhRBNBILnR0UakHFjBY6Zc1ANwZAITb91eaFiLmn/9oADAMBAAIAAwAAABCyEf/EAB4RAQACAgMAAwAAAAAAAAAAAAERITFBAFGhYcHw/9oACAEDAQE/EH2WvhJBVXbkqSSljgmk0VrW5fsueWlFa3EBjHvR0cShT0Au9p6/XP/EAB0RAQACAgMBAQAAAAAAAAAAAAERIQAxQVFhgaH/2gAIAQIBAT8QgBSg+W06IIcF91JkjOdNvyeLyVkMm7u3nOyyityTClUgYKYo+Z//xAAaEAEBAQEBAQEAAAAAAAAAAAABESExAEGB/9oACAEBAAE/ECKbyjLXDYgle1EAuuRZBGwcAKAqyDHmCIzgaCq/Rc5vj5deAMMR0Aon74ZF75HqfVTqwYBCasQYKE7JrXA7tav/2Q==",
		libjpeg: "0SMaoyYGaVQDV4YeSJ02OIdXNViOTlCjYlVx1r6a7tNg/8190lKPy1XHhmuyi7ndW8jNZMjG0+367uDt9OXiyAckxis5gTIhcHJDNYtAV6hjWEov6a+Z6rN9rGpQu12Zk2i6Wq3VYMvd5v//MTMuJTgiVT0xujpR3TZSwjc008oBsaQAxbFOWGYzU7GZPZuayuPqTjUuazgBlmYahnYrj5aEXnPQUkCm/6qw7FRJ6VeE312j/8T//9z//+fv0aoF1so2i7Q+XaxqTa+uqOr4TTsjlk8js1spql9cZEmmaz7MtDzCxVTKtaH22/r/zfDyP1M6d2JDiIVSZa9YxLq41bu+PAIRSy8rSpRXWZ5b1rOVyGxvw15+/9Hy9vDyNEUlfX4wlZRCXnA81L7A0VyixU+Z//X/9P/+RDtY6cm8wr2fBzoAQotUT5OUNWiHVnGOgZW6h6XXPClhwUNzyTlagj495s3QfHaawrfi/+n/USovf2FZh3yESlyOC6I3I4ZGLyc/e1aKcn6OvN7Fb4tAlrFKc5QjytuVjYGVuJHGdTtUgmhpd7WcMGFM/8LPt2Bx+ebfa1NHrEhKQYWOCEY7j72McZZgz+3RHkI4Y5SOJGFPouu2frh76P/QLDwhbZWXQG5srtSvp8OT1erJLkwwY5x5LWIc1+dgUFaii3W2/7rhai0/aIF9RF5rlV6h/9P/GEIUa6lmSVhBzdPRkLOs5Oz3j0Z7pj5x/KioqWZW/8nMYhUbtzgvbj91rYmjyLieWlUbZ2cfq7iNk7fPHSljhUuFfUpbvd+ieqxVNjUAfFlfaDaVZEe+e5Leq+f/UJ+ZPHM8y8FQXwAAiDY6hlZWa21sYaOhAE8oebZBvctsqm+L/6/mmVVMtYJ/fFWkn5bXEjkNja17eFuHjGWm7u76XIVbcMBdSQApkCt7dQh1nUuf6NzcODAuczOBn1qbqZhthpAvf5ErtdN7kcKKGFQUfr9Jqeh/f7aX3///e56aZ1lywGC3EUsQlsSVZX1jWG4/gq03tsti9Mm5pGZ7l3V2m4WH3MfYXjh1fDe0s13K/9DbslpZnkSOvWPD/9b/llmcb2LM",
	},
	{
		name:    "h4v1",
		jpeg:    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8UHRofHh0aHBwgJC4nICIsIxwcKDcpLDAxNDQ0Hyc5PTgyPC4zNDL/2wBDAQkJCQwLDBgNDRgyIRwhMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjL/wAARCAANABUDAUEAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEBAQEBAQAAAAAAAAECAwQFBgcICQoL/8QAtREAAgECBAQDBAcFBAQAAQJ3AAECAxEEBSExBhJBUQdhcRMiMoEIFEKRobHBCSMzUvAVYnLRChYkNOEl8RcYGRomJygpKjU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6goOEhYaHiImKkpOUlZaXmJmaoqOkpaanqKmqsrO0tba3uLm6wsPExcbHyMnK0tPU1dbX2Nna4uPk5ebn6Onq8vP09fb3+Pn6/9oADAMBAAIRAxEAPwCIQ2HnXotLYJZIypDcyMSjPjJba+M4IYYyfuEkEBgdOI3EGowWd49xJD5BOxowrgHKt5YXdtwAWUgKcoRgFcVYOoX2np9h0+zudQkhllWQfbLj92okZV+ZJDkna3VUPHTmiuZunTpKNSoo26u9m7eXl6/ckdNGdSrd0OXm1fvKOzbfVpb/AIWXQx9EtLme2WSW8DT2lglwsnl7cxhGYoMEFW3NkOCCPxq0LaOSW301TLFbfY3u3SKQqrIhb5CO5JgHzHOAcADAwalexwfYLz7LHK11ZqT5yq7DDyA84xycngDrzk5JK78Jl8MxTjUk0k29NHppv2DnnRTqwk1d20dnrru0018vnvf/2Q==",
		libjpeg: "hkgjeDoVgUMenF45UoqBRHxzLmZdM2tiZmYMy8tx2Nh+4eGHh27BjXTHg2q9t57xcb7Gc8DIsP3/r/z//uTLthYKzS0huhoO3j4yJJY2Q7VVBngYeeuL/3bm9jSk+zmp+TenlaF9qbWR+v/iLjoWaBE8eyRPm0Rvo0x3xUIAz71NrpwsxbNDdWMASbeUNqSBk//eAGE+bDIcl11HnWNNvYNtlF6pbjiD6LL9nWeytnJ9unaB/9Ld/+Dr/+zxw6ky3cNMuqAprZMcpI556tS/UDolcVtGQ32lSIKqL2mRL2mRmlSKrmie3JbM/9v/y/20L2EYSnwzZZdOQr5q46u06bG6OwMMXSUud35SgoldusGViI9jlnGT/9z+/+P/Ui1PlG9DqoVZhF8z5L+TtWisqVyg/93//9//OT5ou97GpciwDTAYWXxkTZGoKm6FOn6VYaW8wZp7VC0OjWZHh2BBPldrwdruaIGVq8TY/9z/Xx1LklB+qWeVXU+aR3OMP2uECjZPRXGKdIF4ydbNcn92laKZgYNR0tSii41bp6l3QF0vYX5Qka6AQV4w/8PBqmln/9jWh0ZE0TZIS49GC08Gg8d+XqJZ1+TqLDk/e4iOQ1BW2tKjq6N0/vbHPzcITqKiJXl5id3des7O0evSMUsyeJJ5O1U8+t8ulT5ou2SO/7bgeSJMaH6MR11rZXuJ1+37RCwQo4tvZU0x5c2xma6x3PH0U2hrVGls3bO/lGp29szYSR8rzTMPWk1fnpGjwbTGV0pcTmlYnrmonrmoGzYlVm5MTmZEwdm3hp58SBVyfUqnaTaTdkOgZ6W0rOr5WpinL2184bo3SwAigTRYlkltnlF1Xq9qAFEMZbZxi9yXmoNR5c6cfmc1p5BecmGFqJe7MB9DppW5nkxwrVt//9L2qVd7a8hEPQARgjlWZRw5nVRx/9LAWSQSdkEvnWhWeLFtYptXYJlVoNmVlL6YIkwmha+JsNq0e7iX2P/0bKmIOXZV4lKnOS83t621eW93aF5mkJp1tsCb0du2eIJdk3SGoIGT48TWXj9Rd0R9oG2m/9X/kV6Xik2SrG+0/9z/llmeRXXZ",
	},
	{
		name:    "grayscale",
		jpeg:    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8UHRofHh0aHBwgJC4nICIsIxwcKDcpLDAxNDQ0Hyc5PTgyPC4zNDL/wAALCAANABUBAREA/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/9oACAEBAAA/AIhDYedei0tglkjKkNzIxKM+Mltr4zghhjJ+4SQQGB04jcQajBZ3j3EkPkE7GjCuAcq3lhd23ABZSApyhGAVxVg6hfaen2HT7O51CSGWVZB9suP3aiRlX5kkOSdrdVQ8dOax9EtLme2WSW8DT2lglwsnl7cxhGYoMEFW3NkOCCPxq0LaOSW301TLFbfY3u3SKQqrIhb5CO5JgHzHOAcADAwalexwfYLz7LHK11ZqT5yq7DDyA84xycngDrzk5J//2Q==",
		libjpeg: "VlZWSEhIUVFRbGxseHh4ampqVFRUWVlZXFxcwcHBzs7O19fXf39/hYWFe3t7r6+vqKioqqqq5+fn5ubm6enpREREW1tbSEhIbGxsaWlpiIiIS0tLvr6+vb29e3t7gICAfn5+mZmZra2t/v7+MjIyMDAwQ0NDY2Nja2trYGBgtra2lZWVrKysXFxckpKSf39/3NzcPDw8QUFBbGxscnJykpKSd3d3UVFRy8vLgICAiIiIjIyM6Ojo9vb2+Pj4o6Ojvb29mpqajY2NkpKS2NjYPj4+X19fcHBwdXV1XFxcXFxcb29vg4ODsbGx9vb25ubmSkpKZWVlgICAj4+Pvb29w8PDFRUVNzc3d3d3goKCurq6iIiIgICA6+vr8vLyPDw8dXV1i4uLZWVlxcXFh4eHe3t7/Pz8/v7+QUFB0dHRu7u7IyMjb29vf39/XFxcbGxsk5OToqKiNTU1bm5uaGhoUlJS1dXVfHx8v7+/9fX1NjY2aWlpgICAXFxcaWlpYWFhLCwsZ2dnfHx80dHRenp6nZ2dfX19zs7Oh4eHo6OjT09PcHBwoKCgUFBQ1tbWfHx86+vrWVlZZmZmcnJyMjIyqqqqhYWF4eHhNjY2hYWFTU1Nz8/PoKCg8/PzNDQ0iYmJYGBgxMTEtbW14ODgQEBAh4eHSkpK09PTXV1dg4OD1dXVQUFBeXl5WFhYdnZ26OjoMDAwj4+PUVFR0dHRqKio6+vrYmJiY2NjwcHBeHh42traLS0tXV1dU1NTl5eXurq6UFBQX19fr6+vr6+vLCwsY2NjW1tbzs7Ok5OTLy8vZGRkUFBQXV1dlJSU2dnZh4eHXFxct7e3GRkZT09PZGRkbGxsj4+PMTExlpaWvLy8hISEz8/PaGhokZGRampqoKCgKCgonp6eaWlpeHh47+/vdHR0nZ2dDQ0NUlJSNTU1bW1t4ODgMjIyT09PdnZ2mJiYgoKCgICAwMDAra2tOzs7np6eycnJoqKi////k5OTYGBgh4eHMzMzsbGxc3NzYmJik5OTubm51NTUe3t7f39/jIyMz8/PSkpKWlpag4OD6+vrdHR0Z2dniYmJ9vb2c3NzcnJy",
	},
}

// jpegTolerance: what remains after matching libjpeg's upsampling and colour
// conversion comes from Go's and libjpeg's different inverse DCTs.
const (
	jpegMaxDiff  = 3
	jpegMeanDiff = 0.1
)

func TestJPEGMatchesLibjpeg(t *testing.T) {
	for _, c := range libjpegCases {
		t.Run(c.name, func(t *testing.T) {
			data := mustBase64(t, c.jpeg)
			want := mustBase64(t, c.libjpeg)
			got, err := Decode(data, DecodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Pix) != len(want) {
				t.Fatalf("got %d bytes, want %d", len(got.Pix), len(want))
			}
			mean, maxDiff := byteDiff(got.Pix, want)
			t.Logf("%dx%d: mean |diff| %.4f, max %d", got.Width, got.Height, mean, maxDiff)
			if maxDiff > jpegMaxDiff || mean > jpegMeanDiff {
				t.Errorf("differs from libjpeg by mean %.4f, max %d; want ≤ %.2f, ≤ %d", mean, maxDiff, jpegMeanDiff, jpegMaxDiff)
			}
		})
	}
}

func mustBase64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func byteDiff(a, b []byte) (mean float64, maxDiff int) {
	sum := 0
	for i := range a {
		d := int(a[i]) - int(b[i])
		d = max(d, -d)
		sum += d
		maxDiff = max(maxDiff, d)
	}
	return float64(sum) / float64(len(a)), maxDiff
}

// TestYCCConstants recomputes jdcolor.c's FIX(x) = (x * 2^16 + 0.5).
func TestYCCConstants(t *testing.T) {
	fix := func(x float64) int32 { return int32(math.Floor(x*(1<<yccScaleBits) + 0.5)) }
	for _, c := range []struct {
		got  int32
		coef float64
	}{{fixCrToR, 1.40200}, {fixCbToB, 1.77200}, {fixCrToG, 0.71414}, {fixCbToG, 0.34414}} {
		if want := fix(c.coef); c.got != want {
			t.Errorf("FIX(%v) = %d, want %d", c.coef, c.got, want)
		}
	}
	// Spot values of the tables: Cr_r_tab[0] = round(-128*1.402) = -179.
	if ycc.crR[0] != -179 || ycc.cbB[255] != 225 || ycc.crR[128] != 0 {
		t.Errorf("crR[0]=%d cbB[255]=%d crR[128]=%d", ycc.crR[0], ycc.cbB[255], ycc.crR[128])
	}
}

// TestFancyUpsamplersByHand checks the filters against values worked out
// from jdsample.c's formulas.
func TestFancyUpsamplersByHand(t *testing.T) {
	out := make([]byte, 6)
	h2v1Fancy(out, []byte{0, 100, 200})
	// 0 | (0*3+100+2)>>2 | (300+0+1)>>2 | (300+200+2)>>2 | (600+100+1)>>2 | 200
	if want := []byte{0, 25, 75, 125, 175, 200}; !bytes.Equal(out, want) {
		t.Errorf("h2v1Fancy = %v, want %v", out, want)
	}

	out = make([]byte, 3)
	h1v2Fancy(out, []byte{10, 20, 30}, []byte{14, 0, 255}, 1)
	// (3*near + far + bias) >> 2
	if want := []byte{11, 15, 86}; !bytes.Equal(out, want) {
		t.Errorf("h1v2Fancy = %v, want %v", out, want)
	}

	out = make([]byte, 6)
	h2v2Fancy(out, []byte{0, 100, 200}, []byte{0, 100, 200}, make([]int32, 3))
	// Equal rows: column sums 0, 400, 800; then 9-3-3-1 with biases 8/7.
	// (0*4+8)>>4 | (0+400+7)>>4 | (1200+0+8)>>4 | (1200+800+7)>>4 | (2400+400+8)>>4 | (3200+7)>>4
	if want := []byte{0, 25, 75, 125, 175, 200}; !bytes.Equal(out, want) {
		t.Errorf("h2v2Fancy = %v, want %v", out, want)
	}
}

// TestUpsamplerMethodChoice mirrors jinit_upsampler: triangle filters only
// for 2:1 ratios, and h2v1/h2v2 only when a chroma row has > 2 samples.
func TestUpsamplerMethodChoice(t *testing.T) {
	for _, c := range []struct {
		h, v, cw int
		want     upsampleMethod
	}{
		{1, 1, 1, upFullSize}, {2, 1, 3, upH2V1Fancy}, {2, 1, 2, upReplicate},
		{1, 2, 1, upH1V2Fancy}, {2, 2, 3, upH2V2Fancy}, {2, 2, 2, upReplicate},
		{4, 1, 100, upReplicate}, {4, 2, 100, upReplicate},
	} {
		if got := pickUpsampleMethod(c.h, c.v, c.cw); got != c.want {
			t.Errorf("h%dv%d cw=%d: got %v, want %v", c.h, c.v, c.cw, got, c.want)
		}
	}
}

// TestJPEGMatchesPerPixelReference checks the row-buffer implementation,
// including its edge rows and columns on sizes that are not a multiple of the
// MCU, against a per-pixel restatement of libjpeg's formulas on the same
// decoded planes: they must agree exactly.
func TestJPEGMatchesPerPixelReference(t *testing.T) {
	for _, c := range libjpegCases {
		img, err := jpeg.Decode(bytes.NewReader(mustBase64(t, c.jpeg)))
		if err != nil {
			t.Fatal(err)
		}
		m, ok := img.(*image.YCbCr)
		if !ok {
			continue
		}
		got, ok := jpegYCbCrToRGB(m)
		if !ok {
			t.Fatalf("%s: not converted", c.name)
		}
		want := referenceYCbCrToRGB(m)
		if !bytes.Equal(got.Pix, want.Pix) {
			mean, mx := byteDiff(got.Pix, want.Pix)
			t.Errorf("%s: differs from the per-pixel reference: mean %.4f max %d", c.name, mean, mx)
		}
	}
}

// referenceYCbCrToRGB restates jdsample.c and jdcolor.c pixel by pixel, with
// clamped neighbour indices instead of row buffers.
func referenceYCbCrToRGB(m *image.YCbCr) *RGB {
	hExp, vExp, _ := subsampleFactors(m.SubsampleRatio)
	w, h := m.Rect.Dx(), m.Rect.Dy()
	cw, ch := (w+hExp-1)/hExp, (h+vExp-1)/vExp
	sample := func(p []byte, cx, cy int) int {
		cx, cy = max(0, min(cx, cw-1)), max(0, min(cy, ch-1))
		return int(p[cy*m.CStride+cx])
	}
	method := pickUpsampleMethod(hExp, vExp, cw)
	chroma := func(p []byte, x, y int) int {
		cx, cy := x/hExp, y/vExp
		// Neighbour offsets: towards the output sample's side.
		dx, dy := 2*(x%2)-1, 2*(y%2)-1
		switch method {
		case upH2V1Fancy:
			if x == 0 || x == 2*cw-1 {
				return sample(p, cx, cy)
			}
			return (3*sample(p, cx, cy) + sample(p, cx+dx, cy) + 1 + x%2) >> 2
		case upH1V2Fancy:
			return (3*sample(p, cx, cy) + sample(p, cx, cy+dy) + 1 + y%2) >> 2
		case upH2V2Fancy:
			col := func(cx int) int { return 3*sample(p, cx, cy) + sample(p, cx, cy+dy) }
			if x == 0 || x == 2*cw-1 {
				return (4*col(cx) + 8 - x%2) >> 4
			}
			return (3*col(cx) + col(cx+dx) + 8 - x%2) >> 4
		}
		return sample(p, cx, cy)
	}
	out := NewRGB(w, h)
	for y := range h {
		for x := range w {
			Y := float64(m.Y[y*m.YStride+x])
			cb := float64(chroma(m.Cb, x, y) - 128)
			cr := float64(chroma(m.Cr, x, y) - 128)
			r := Y + math.Floor((91881*cr+32768)/65536)
			g := Y + math.Floor((-22554*cb-46802*cr+32768)/65536)
			b := Y + math.Floor((116130*cb+32768)/65536)
			i := (y*w + x) * 3
			out.Pix[i], out.Pix[i+1], out.Pix[i+2] = clampF(r), clampF(g), clampF(b)
		}
	}
	return out
}

func clampF(v float64) byte { return byte(max(0, min(255, v))) }

// TestWithAdobeMarker: a 4-component JPEG without APP14 gets one; others are
// left alone.
func TestWithAdobeMarker(t *testing.T) {
	sof := []byte{0xFF, 0xC0, 0, 20, 8, 0, 1, 0, 1, 4, 1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0, 4, 0x11, 0}
	cmyk := append([]byte{0xFF, 0xD8}, sof...)
	cmyk = append(cmyk, 0xFF, 0xD9)
	got := withAdobeMarker(cmyk)
	if !bytes.Equal(got[2:2+len(adobeCMYKSegment)], adobeCMYKSegment) || !bytes.Equal(got[2+len(adobeCMYKSegment):], cmyk[2:]) {
		t.Errorf("marker not inserted after SOI: % x", got)
	}
	if again := withAdobeMarker(got); !bytes.Equal(again, got) {
		t.Error("a second marker was inserted")
	}
	ycc := bytes.Clone(cmyk)
	ycc[2+9] = 3 // three components
	if got := withAdobeMarker(ycc); !bytes.Equal(got, ycc) {
		t.Error("a three-component JPEG was changed")
	}
}

// TestCMYKToRGB checks Pillow's cmyk2rgb on values worked out by hand:
// out = nk - MULDIV255(c, nk), nk = 255 - k.
func TestCMYKToRGB(t *testing.T) {
	out := make([]byte, 9)
	cmykRow(out, []byte{
		255, 0, 0, 0, // full cyan, no black
		100, 0, 255, 128, // nk = 127: 127 - (100*127+128 → 50), 127, 0
		0, 0, 0, 255, // full black
	})
	if want := []byte{0, 255, 255, 77, 127, 0, 0, 0, 0}; !bytes.Equal(out, want) {
		t.Errorf("got %v, want %v", out, want)
	}
}
